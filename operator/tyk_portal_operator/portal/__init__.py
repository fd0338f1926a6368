"""The Live Portal: a web page where teams find what they may use, read the docs, ask for access and
follow their credentials, and where approvers decide.

Two ways to run it (see docs/portal.md):

* `kubectl portal ui`: locally, with the caller's kubeconfig credentials (`cli.run_ui`);
* in the cluster (`python -m tyk_portal_operator.portal`, the Helm chart's `portal.enabled`), people
  signing in with the organisation's OpenID Connect provider (`server.in_cluster_app`).

Layers: `offers` is pure (visibility and approval through `core`), `kube` is the Kubernetes
adapter (the portal's reading identity and each person's own), `identity` ties a browser session to
a person's credentials, `web` renders pages.
"""
