from django.http import JsonResponse
from django.urls import path

from shop.celery import add


def index(request):
    return JsonResponse({"hello": "django"})


def add_view(request):
    # The request sends the work to a worker and (here) waits for its result.
    result = add.delay(int(request.GET.get("x", 1)), int(request.GET.get("y", 2)))
    return JsonResponse({"sum": result.get(timeout=10)})


urlpatterns = [path("", index), path("add", add_view)]
