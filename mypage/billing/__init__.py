"""Statements (請求明細), the month close and the bridge from the database to the billing engine
(F-BILL-CLOSE, SPEC §7)."""
