"""Market making: quoting, inventory, risk, order management, paper exchange. Never imports textual or console."""
