"""Route families of the gateway, each registered on the app by its module."""
