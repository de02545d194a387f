# variables for production
app_name = "shop"
port     = 8080 # assigned by ops
