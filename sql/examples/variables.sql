-- Variables: DECLARE (several at once), SET, SELECT @v = ... (the last row wins),
-- MODEL = @model, and SELECT @v = p.col FROM PREDICT.
--   sqlpredict run sql/examples/variables.sql

SET NOCOUNT ON

CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))

INSERT INTO models (description, data)
SELECT 'house price model', BulkColumn
FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f

CREATE TABLE [dbo].[Listings] (
      [ListingId] INT NOT NULL
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
)

INSERT INTO [dbo].[Listings] VALUES
      (101, 72.0, 2, 30, 2.5)
    , (102, 110.5, 3, 8, 6.0)
    , (103, 154.0, 4, 15, 11.25)
    , (104, 48.75, 1, 55, 0.8)
GO

DECLARE @model VARBINARY(MAX)
      , @modelId INT
      , @minArea REAL = 60
      , @maxPrice FLOAT
      , @topListing INT

-- SELECT @v = ... : with several rows, the last one wins
SELECT @modelId = [id] FROM models WHERE [description] LIKE 'house%' ORDER BY [id]
SET @model = (SELECT [data] FROM models WHERE [id] = @modelId)

SELECT d.[ListingId]
     , d.[area_m2]
     , d.[bedrooms]
     , d.[age_years]
     , d.[distance_km]
     , p.[score] AS [predicted_price]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Listings] AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
WHERE d.[area_m2] >= @minArea
ORDER BY d.[ListingId]

-- The highest predicted price, and which listing has it
SELECT @topListing = d.[ListingId]
     , @maxPrice = p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Listings] AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
ORDER BY p.[score]

SELECT @modelId AS [ModelId], @topListing AS [TopListing], @maxPrice AS [MaxPredictedPrice]
GO
