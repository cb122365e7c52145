-- A view over PREDICT: stored in the database (file) with its model query; DROP VIEW removes it.
--   sqlpredict run sql/examples/view_over_predict.sql
--   sqlpredict run sql/examples/view_over_predict.sql --database houses.duckdb   (a new file: the tables stay in it; the view is dropped at the end)

SET NOCOUNT ON

CREATE TABLE models ([id] [int] IDENTITY(1,1) NOT NULL, [data] [varbinary](max) NULL, [description] varchar(1000))

INSERT INTO models (description, data)
SELECT 'house price model', BulkColumn FROM OPENROWSET(BULK 'sql/examples/house_price.onnx', SINGLE_BLOB) AS f

CREATE TABLE [dbo].[Houses] (
      [HouseId] INT NOT NULL
    , [City] NVARCHAR(50)
    , [area_m2] REAL
    , [bedrooms] REAL
    , [age_years] REAL
    , [distance_km] REAL
)

INSERT INTO [dbo].[Houses] VALUES
      (1, N'Lyon', 88.0, 3, 25, 5.5)
    , (2, N'Lyon', 132.5, 4, 10, 8.25)
    , (3, N'Genève', 57.0, 1, 60, 0.6)
    , (4, N'Genève', 210.0, 6, 1, 18.0)
GO

CREATE VIEW [dbo].[vw_HousePrices]
AS
SELECT d.[HouseId]
     , d.[City]
     , d.[area_m2]
     , d.[bedrooms]
     , d.[age_years]
     , d.[distance_km]
     , p.[score] AS [predicted_price]
FROM PREDICT(MODEL = (SELECT [data] FROM [dbo].[models] WHERE [id] = 1)
           , DATA = [dbo].[Houses] AS d
           , RUNTIME = ONNX)
WITH ([score] FLOAT) AS p
GO

SELECT * FROM [dbo].[vw_HousePrices] ORDER BY [HouseId]
GO

SELECT v.[City], COUNT(*) AS [Houses], MAX(v.[predicted_price]) AS [MaxPrice]
FROM [dbo].[vw_HousePrices] AS v
GROUP BY v.[City]
ORDER BY v.[City]
GO

DROP VIEW [dbo].[vw_HousePrices]
GO
