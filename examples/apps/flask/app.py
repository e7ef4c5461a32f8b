"""A small Flask app used by the stackgen examples."""
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(hello="flask", scheme=request.scheme, remote_addr=request.remote_addr)
