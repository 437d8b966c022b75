import environ

env = environ.Env()

SECRET_KEY = env("SECRET_KEY")
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "catalog", "orders"]
ROOT_URLCONF = "shop.urls"
DATABASES = {"default": env.db("DATABASE_URL")}
