"""Read-side queries for the web pages: dashboard metrics, the lists behind them, report timelines."""
