<!doctype html>
<html>
  <head><title>${title}</title></head>
  <body>
    <h1>${title}</h1>
    <p>Served by a Clockwork-managed process on port ${port}.</p>
  </body>
</html>
