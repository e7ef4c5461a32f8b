"""A small Flask app used by the stackgen examples."""
from flask import Flask, jsonify, request

app = Flask(__name__)
# FLASK_* environment variables (app.env_file's FLASK_SECRET_KEY) become app.config['SECRET_KEY'].
app.config.from_prefixed_env()


@app.get("/")
def index():
    return jsonify(hello="flask", scheme=request.scheme, remote_addr=request.remote_addr)
