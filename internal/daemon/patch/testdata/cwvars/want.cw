# variables for production
app_name = "shop"
port     = 8090 # assigned by ops
