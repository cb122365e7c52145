-- MERGE ... USING (SELECT ... FROM PREDICT ...): keep a table of current predictions up to date.
--   sqlpredict run sql/examples/merge_predictions.sql

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
    , (4, 210.0, 6, 1, 18.0)

CREATE TABLE [dbo].[CurrentPrices] (
      [HouseId] INT NOT NULL
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
    , [predicted_price] FLOAT
    , [Revision] INT
)

-- Two houses were scored before, with an old model
INSERT INTO [dbo].[CurrentPrices] VALUES (1, 88.0, 3, 25, 5.5, 100, 1), (3, 57.0, 1, 60, 0.6, 100, 1)
GO

DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM models WHERE [description] = 'house price model')

MERGE [dbo].[CurrentPrices] AS tgt
USING (
    SELECT d.[HouseId], d.[area_m2], d.[bedrooms], d.[age_years], d.[distance_km], p.[score]
    FROM PREDICT(MODEL = @model, DATA = [dbo].[Houses] AS d, RUNTIME = ONNX)
    WITH ([score] FLOAT) AS p
) AS src
ON tgt.[HouseId] = src.[HouseId]
WHEN MATCHED THEN
    UPDATE SET tgt.[predicted_price] = src.[score]
             , tgt.[Revision] = tgt.[Revision] + 1
WHEN NOT MATCHED BY TARGET THEN
    INSERT ([HouseId], [area_m2], [bedrooms], [age_years], [distance_km], [predicted_price], [Revision])
    VALUES (src.[HouseId], src.[area_m2], src.[bedrooms], src.[age_years], src.[distance_km], src.[score], 1);

SELECT * FROM [dbo].[CurrentPrices] ORDER BY [HouseId]
GO
