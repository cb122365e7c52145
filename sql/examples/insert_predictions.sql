-- INSERT INTO ... SELECT ... FROM PREDICT: store the scores next to the data
-- (d.* and p.col by position, and with a column list).
--   sqlpredict run sql/examples/insert_predictions.sql

SET NOCOUNT ON

CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))

INSERT INTO models (description, data)
SELECT 'house price model', BulkColumn FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f

CREATE TABLE [dbo].[Houses] (
      [HouseId] INT NOT NULL
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
)

INSERT INTO [dbo].[Houses] VALUES
      (1, 88.0, 3, 25, 5.5)
    , (2, 132.5, 4, 10, 8.25)
    , (3, 57.0, 1, 60, 0.6)

-- Same columns as the data, then the score: INSERT ... SELECT d.*, p.score fills them by position
CREATE TABLE [dbo].[HousePredictions] (
      [HouseId] INT NOT NULL
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
    , [predicted_price] FLOAT
)

-- A log with its own IDENTITY key, filled through a column list
CREATE TABLE [dbo].[ScoringLog] (
      [LogId] INT IDENTITY(1,1) NOT NULL
    , [HouseId] INT
    , [ModelId] INT
    , [Price] NUMERIC(10, 2)
    , [ScoredAt] DATETIME2(7)
)
GO

DECLARE @modelId INT = 1
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [id] = @modelId)

INSERT INTO [dbo].[HousePredictions]
SELECT d.*, p.[score]
FROM PREDICT(MODEL = @model, DATA = [dbo].[Houses] AS d, RUNTIME = ONNX)
WITH ([score] FLOAT) AS p

INSERT INTO [dbo].[ScoringLog] ([HouseId], [ModelId], [Price], [ScoredAt])
SELECT d.[HouseId], @modelId, p.[score], SYSDATETIME()
FROM PREDICT(MODEL = @model, DATA = [dbo].[Houses] AS d, RUNTIME = ONNX)
WITH ([score] NUMERIC(10, 2)) AS p
GO

SELECT * FROM [dbo].[HousePredictions] ORDER BY [HouseId]

SELECT [LogId], [HouseId], [ModelId], [Price]
FROM [dbo].[ScoringLog]
ORDER BY [HouseId]
GO
