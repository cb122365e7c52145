-- A stored procedure that scores with PREDICT and returns a value in an OUTPUT parameter.
--   sqlpredict run sql/examples/stored_procedure.sql

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
GO

CREATE PROCEDURE [dbo].[usp_PredictHousePrice]
      @HouseId INT
    , @ModelDescription VARCHAR(1000) = 'house price model'
    , @PredictedPrice FLOAT OUTPUT
AS
BEGIN
    SET NOCOUNT ON

    DECLARE @model VARBINARY(MAX) = (SELECT [data] FROM [dbo].[models] WHERE [description] = @ModelDescription)

    ;WITH predict_input AS (
        SELECT [HouseId], [area_m2], [bedrooms], [age_years], [distance_km]
        FROM [dbo].[Houses]
        WHERE [HouseId] = @HouseId
    )
    SELECT @PredictedPrice = p.[score]
    FROM PREDICT(MODEL = @model, DATA = predict_input AS d, RUNTIME = ONNX)
    WITH ([score] FLOAT) AS p

    SELECT d.*, p.[score] AS [predicted_price]
    FROM PREDICT(MODEL = @model, DATA = [dbo].[Houses] AS d, RUNTIME = ONNX)
    WITH ([score] FLOAT) AS p
    WHERE d.[HouseId] = @HouseId
END
GO

DECLARE @price FLOAT
EXEC [dbo].[usp_PredictHousePrice] @HouseId = 2, @PredictedPrice = @price OUTPUT
SELECT 2 AS [HouseId], @price AS [PredictedPrice]
GO

-- Positional arguments, the default given explicitly
DECLARE @price FLOAT
EXECUTE usp_PredictHousePrice 3, 'house price model', @price OUTPUT
SELECT 3 AS [HouseId], @price AS [PredictedPrice]
GO
