"""A Flask app that hands work to Celery (examples/flask-gunicorn-celery.yaml).

The Celery app is made from the Flask app as Flask's "Background Tasks with Celery" pattern
does: tasks run inside the Flask app's context. The broker and result backend come from the
environment stackgen writes into every unit (CELERY_BROKER_URL, CELERY_RESULT_BACKEND), which
Celery reads before its own config."""

from celery import Celery, Task
from flask import Flask, jsonify, request

app = Flask(__name__)


def celery_init_app(flask_app):
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(flask_app.name, task_cls=FlaskTask)
    celery_app.set_default()
    flask_app.extensions["celery"] = celery_app
    return celery_app


celery = celery_init_app(app)


@celery.task
def add(x, y):
    return x + y


@app.get("/")
def index():
    return jsonify(hello="flask")


@app.get("/add")
def add_view():
    # A web request never runs the work itself: it sends it and (here) waits for the result.
    result = add.delay(request.args.get("x", 1, type=int), request.args.get("y", 2, type=int))
    return jsonify(sum=result.get(timeout=10))
