-- The T-SQL the scoring samples use, with T-SQL meaning: CAST / CONVERT, DATEADD / GETDATE /
-- SYSDATETIME, ISNULL, PIVOT, 0x literals, N'...' strings, TOP, NUMERIC(p,s) outputs and
-- DATETIME2(7) columns passing through PREDICT.
--   sqlpredict run sql/examples/tsql_functions.sql

SET NOCOUNT ON

CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))

INSERT INTO models (description, data)
SELECT N'house price model', BulkColumn FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f

-- Measurements arrive one row per attribute, some missing (NULL)
CREATE TABLE [dbo].[HouseAttributes] (
      [HouseId] INT NOT NULL
    , [Attribute] VARCHAR(20) NOT NULL
    , [Value] FLOAT NULL
    , [RecordedAt] DATETIME2(7) NOT NULL
)

INSERT INTO [dbo].[HouseAttributes] VALUES
      (1, 'area_m2', 91.5, '2024-06-01 08:00:00.1234567')
    , (1, 'bedrooms', 3, '2024-06-01 08:00:00.1234567')
    , (1, 'age_years', 14, '2024-06-01 08:00:00.1234567')
    , (1, 'distance_km', 3.75, '2024-06-01 08:00:00.1234567')
    , (2, 'area_m2', 143, '2024-06-02 17:30:00')
    , (2, 'bedrooms', NULL, '2024-06-02 17:30:00')
    , (2, 'age_years', 2, '2024-06-02 17:30:00')
    , (2, 'distance_km', 12.5, '2024-06-02 17:30:00')
    , (3, 'area_m2', 66, '2024-06-03 12:15:00')
    , (3, 'bedrooms', 2, '2024-06-03 12:15:00')
    , (3, 'age_years', 51, '2024-06-03 12:15:00')
    , (3, 'distance_km', 0.9, '2024-06-03 12:15:00')
GO

DECLARE @model VARBINARY(MAX) = (SELECT TOP (1) [data] FROM models WHERE [description] = N'house price model' ORDER BY [id] DESC)
DECLARE @runAt DATETIME2(7) = SYSDATETIME()
DECLARE @validUntil DATETIME = DATEADD(day, 30, GETDATE())
DECLARE @tag VARBINARY(4) = 0x48505631

;WITH wide AS (
    SELECT [HouseId], [area_m2], [bedrooms], [age_years], [distance_km]
    FROM (SELECT [HouseId], [Attribute], [Value] FROM [dbo].[HouseAttributes]) AS src
    PIVOT (MAX([Value]) FOR [Attribute] IN ([area_m2], [bedrooms], [age_years], [distance_km])) AS pvt
)
, predict_input AS (
    SELECT w.[HouseId]
         , CONCAT(N'Maison n°', CONVERT(NVARCHAR(10), w.[HouseId])) AS [Label]
         , (SELECT MAX(a.[RecordedAt]) FROM [dbo].[HouseAttributes] AS a WHERE a.[HouseId] = w.[HouseId]) AS [RecordedAt]
         , CAST(w.[area_m2] AS REAL) AS [area_m2]
         , CAST(ISNULL(w.[bedrooms], 1) AS REAL) AS [bedrooms]
         , CONVERT(REAL, w.[age_years]) AS [age_years]
         , CONVERT(REAL, w.[distance_km]) AS [distance_km]
    FROM wide AS w
)
SELECT TOP 10
       d.[HouseId]
     , d.[Label]
     , CONVERT(VARCHAR(27), d.[RecordedAt], 121) AS [RecordedAt]
     , d.[area_m2]
     , d.[bedrooms]
     , d.[age_years]
     , d.[distance_km]
     , p.[score] AS [predicted_price]
     , CASE WHEN DATEADD(minute, 1, @runAt) > SYSDATETIME() AND @validUntil > GETDATE() THEN N'fresh' ELSE N'stale' END AS [Status]
     , @tag AS [ModelTag]
FROM PREDICT(MODEL = @model, DATA = predict_input AS d, RUNTIME = ONNX)
WITH ([score] NUMERIC(25, 17)) AS p
ORDER BY d.[HouseId]
GO
