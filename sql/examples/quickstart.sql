-- Quickstart: deploy and score an ONNX model with PREDICT
-- (the Azure SQL Edge ONNX quickstart, run unchanged on sqlpredict)
--
--   sqlpredict run sql/examples/quickstart.sql        (from the repository root)
--
-- The model (sql/examples/house_price.onnx) predicts a house price, in thousands,
-- from four features. sql/examples/make_models.py builds it.

-- The SQL Edge script starts in its database; sqlpredict serves one database,
-- which answers to any name
USE onnx
GO

-- Session options are accepted
SET NOCOUNT ON
GO

-- The models table, exactly as the SQL Edge docs create it
CREATE TABLE models (
    [id] [int] IDENTITY(1,1) NOT NULL,
    [data] [varbinary](max) NULL,
    [description] varchar(1000)
)
GO

-- Register the model: the file's bytes go into a varbinary(max) column
INSERT INTO models (description, data)
SELECT 'house price model', BulkColumn
FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f
GO

-- The data to score
CREATE TABLE [dbo].[features] (
      [house_id] INT NOT NULL
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
)
GO

-- Five houses
INSERT INTO [dbo].[features] ([house_id], [area_m2], [bedrooms], [age_years], [distance_km])
VALUES (1, 85.5, 2, 12, 3.2)
     , (2, 120.0, 3, 5, 7.5)
     , (3, 64.25, 1, 40, 1.1)
     , (4, 201.0, 5, 2, 15.8)
     , (5, 142.75, 4, 23, 9.9)
GO

-- Score: the model bytes in a variable, the features cast in a CTE, PREDICT in FROM
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM [onnx].[dbo].[models] WHERE [id] = 1)

;WITH predict_input AS (
    SELECT [house_id]
         , CAST([area_m2] AS REAL) AS [area_m2]
         , CAST([bedrooms] AS REAL) AS [bedrooms]
         , CAST([age_years] AS REAL) AS [age_years]
         , CAST([distance_km] AS REAL) AS [distance_km]
    FROM [dbo].[features]
)
SELECT d.*
     , p.[score] AS [predicted_price]
FROM PREDICT(MODEL = @model, DATA = predict_input AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
ORDER BY d.[house_id]
GO

-- Keep the scoring as a view: it is stored in the database with the model query
CREATE VIEW [dbo].[house_price_predictions]
AS
SELECT d.[house_id]
     , d.[area_m2]
     , d.[bedrooms]
     , d.[age_years]
     , d.[distance_km]
     , p.[score] AS [predicted_price]
FROM PREDICT(MODEL = (SELECT [data] FROM [dbo].[models] WHERE [description] = 'house price model')
           , DATA = [dbo].[features] AS d
           , RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
GO

-- Read the view like a table
SELECT *
FROM [dbo].[house_price_predictions]
WHERE [predicted_price] > 200
ORDER BY [house_id]
GO
