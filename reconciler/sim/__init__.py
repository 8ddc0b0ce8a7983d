"""A faithful Titan simulator: WhatsApp's group rules behind Titan's HTTP API.

`world` holds the rules, `state` the world file's shape, `store` its persistence, `app` the
routes, `gateway` keys, rate limit and faults, `webhooks` signed deliveries, `server` uvicorn.
"""
