"""PostgreSQL: the connections and their life, transactions, how driver failures are told
apart, migrations, and the embedded server for development. Knows no resource."""
