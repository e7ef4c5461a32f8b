from django.http import JsonResponse
from django.urls import path


def index(request):
    return JsonResponse({"hello": "django", "scheme": request.scheme})


urlpatterns = [path("", index)]
