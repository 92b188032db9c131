"""The four fixing steps, one package each (its checks and its fix); `registry` lists them in order."""
