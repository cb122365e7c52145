-- Temp tables: CREATE TABLE #t, SELECT ... INTO #t, DATA = [#t] with [#t].[col] as the qualifier.
--   sqlpredict run sql/examples/temp_tables.sql

SET NOCOUNT ON
GO

CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))
GO

INSERT INTO models (description, data)
SELECT 'house price model', BulkColumn FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f
GO

CREATE TABLE #NewListings (
      [ListingId] INT
    , [ListedOn] DATETIME
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
)

INSERT INTO #NewListings ([ListingId], [ListedOn], [area_m2], [bedrooms], [age_years], [distance_km])
VALUES (201, '2024-03-01 09:30:00', 95.0, 3, 18, 4.4)
     , (202, '2024-03-02 14:00:00', 61.5, 2, 42, 1.9)
     , (203, '2024-03-03 11:15:00', 180.25, 5, 3, 12.7)
GO

-- SELECT ... INTO a temp table: only the recent listings
SELECT [ListingId], [ListedOn], [area_m2], [bedrooms], [age_years], [distance_km]
INTO #TempNewResults
FROM #NewListings
WHERE [ListedOn] >= '2024-03-02'
GO

DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)

SELECT [#TempNewResults].[ListingId]
     , [#TempNewResults].[ListedOn]
     , [#TempNewResults].[area_m2]
     , [#TempNewResults].[bedrooms]
     , [#TempNewResults].[age_years]
     , [#TempNewResults].[distance_km]
     , p.[score] AS [predicted_price]
FROM PREDICT(MODEL = @model, DATA = [#TempNewResults], RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
ORDER BY [#TempNewResults].[ListingId]
GO
