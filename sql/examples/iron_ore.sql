-- The SQL Edge iron-ore flotation sample: columns named as the plant names them,
-- with spaces and symbols ([% Iron Feed]), bound by name to the model's inputs.
--   sqlpredict run sql/examples/iron_ore.sql

USE [IronOreSilicaPrediction]
GO

SET NOCOUNT ON
SET ANSI_NULLS ON
SET QUOTED_IDENTIFIER ON
GO

CREATE TABLE [dbo].[models] (
      [id] [int] IDENTITY(1,1) NOT NULL
    , [data] [varbinary](max) NULL
    , [description] varchar(1000)
)
GO

INSERT INTO [dbo].[models] (description, data)
SELECT 'Iron ore silica prediction', BulkColumn
FROM OPENROWSET(BULK 'sql/examples/iron_ore.onnx', SINGLE_BLOB) AS f
GO

CREATE TABLE [dbo].[IronOreMeasurements] (
      [timestamp] DATETIME2(7) NOT NULL
    , [% Iron Feed] REAL
    , [% Silica Feed] REAL
    , [Starch Flow] REAL
    , [Amina Flow] REAL
    , [Ore Pulp Flow] REAL
    , [Ore Pulp pH] REAL
    , [Ore Pulp Density] REAL
    , [Flotation Column 01 Air Flow] REAL
    , [% Iron Concentrate] REAL
)
GO

INSERT INTO [dbo].[IronOreMeasurements]
VALUES ('2017-03-10 01:00:00', 55.2, 16.98, 3019.53, 557.434, 395.713, 10.0664, 1.74, 249.214, 66.91)
     , ('2017-03-10 01:00:20', 55.2, 16.98, 3024.41, 563.965, 397.383, 10.0672, 1.74, 249.719, 66.91)
     , ('2017-03-10 01:00:40', 52.08, 21.63, 3043.46, 568.054, 399.668, 10.068, 1.74, 249.741, 65.21)
     , ('2017-03-10 01:01:00', 57.44, 11.06, 3047.36, 568.665, 397.939, 10.0689, 1.74, 249.917, 67.53)
     , ('2017-03-10 01:01:20', 54.95, 17.94, 3033.69, 558.167, 400.254, 10.0697, 1.74, 250.203, 66.36)
GO

-- Score the last minute of measurements into a temp table
DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM [IronOreSilicaPrediction].[dbo].[models] WHERE [id] = 1)
DECLARE @since DATETIME2(7) = '2017-03-10 01:00:20'

SELECT d.[timestamp]
     , d.[% Iron Feed]
     , d.[% Silica Feed]
     , d.[Starch Flow]
     , d.[Amina Flow]
     , d.[Ore Pulp pH]
     , d.[Flotation Column 01 Air Flow]
     , p.[% Silica Concentrate]
INTO #TempNewResults
FROM PREDICT(MODEL = @model, DATA = [dbo].[IronOreMeasurements] AS d, RUNTIME = ONNX)
WITH ([% Silica Concentrate] REAL) AS p
WHERE d.[timestamp] >= @since

SELECT * FROM #TempNewResults ORDER BY [timestamp]
GO

SELECT COUNT(*) AS [Scored]
     , CAST(AVG([% Silica Concentrate]) AS NUMERIC(10, 4)) AS [Average % Silica Concentrate]
FROM [#TempNewResults]
GO
