"""A small Bottle app used by the stackgen examples."""
import bottle

app = bottle.Bottle()


@app.get("/")
def index():
    return {"hello": "bottle", "path": bottle.request.path}
