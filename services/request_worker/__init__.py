"""The request worker: answers creative requests with recommendations (faust app over pure
request logic)."""
