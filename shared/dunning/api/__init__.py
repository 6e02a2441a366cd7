"""The HTTP API: Powertools' ``APIGatewayHttpResolver`` with pydantic validation; one router per area in
:mod:`dunning.api.routers`, each route calling one use case in :mod:`dunning.app`. ``functions/api/app.py``
is the Lambda handler; :func:`dunning.api.resolver.build_app` builds the resolver (and its OpenAPI document)."""
