"""The example T-SQL scripts and their models, shipped with the package (sql/examples in the repository)."""
