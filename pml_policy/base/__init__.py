"""What every layer needs: errors with exit codes, files, mappings, dates, escaping, secrets, deadlines."""
