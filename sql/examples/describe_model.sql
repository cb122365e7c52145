-- EXEC sp_describe_model: a stored model's inputs and outputs with the SQL types they bind to
-- (SQL Edge users opened the file in Netron for this).
--   sqlpredict run sql/examples/describe_model.sql

SET NOCOUNT ON

CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))

INSERT INTO models (description, data)
SELECT 'house price model', BulkColumn FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f

INSERT INTO models (description, data)
SELECT 'iron ore silica model', BulkColumn FROM OPENROWSET(BULK 'sql/examples/iron_ore.onnx', SINGLE_BLOB) AS f
GO

DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)
EXEC sp_describe_model @model = @model
GO

DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [description] = 'iron ore silica model')
EXEC sp_describe_model @model
GO

-- The description says the house model takes four REAL columns: score a row built to match
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = 1)

;WITH predict_input AS (
    SELECT CAST(99.5 AS REAL) AS [area_m2]
         , CAST(3 AS REAL) AS [bedrooms]
         , CAST(20 AS REAL) AS [age_years]
         , CAST(4.75 AS REAL) AS [distance_km]
)
SELECT d.*, p.[score] AS [predicted_price]
FROM PREDICT(MODEL = @model, DATA = predict_input AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
GO
