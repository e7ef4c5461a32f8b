"""A small Tornado app used by the stackgen examples."""
import tornado.web
import tornado.websocket


class Index(tornado.web.RequestHandler):
    def get(self):
        self.write({"hello": "tornado", "remote_ip": self.request.remote_ip})


class Echo(tornado.websocket.WebSocketHandler):
    def on_message(self, message):
        self.write_message(message)


def make_app():
    return tornado.web.Application([(r"/", Index), (r"/ws", Echo)])
