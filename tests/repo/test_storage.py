"""The posts storage declaration, pinned: Juju refuses a Kubernetes refresh past any change.

Juju compares a Kubernetes application's storage declarations on refresh and
refuses any difference, even in the description (juju#19911, juju#22432), so
a changed declaration strands every existing deployment: it must be
redeployed and its posts copied over by hand. This test makes such a change
a deliberate one.
"""

from __future__ import annotations

from tests.variants import metadata

DECLARED = {
    "posts": {
        "type": "filesystem",
        "description": "The blog's posts, one UTF-8 text file each, served in production mode.",
        "location": "/var/lib/example_blog/posts",
    }
}
WHY = (
    "the posts storage declaration changed: Juju refuses to refresh a Kubernetes application "
    "into a revision whose storage declaration differs in any way, even in its description "
    "(juju#19911, juju#22432), so every existing deployment would have to be redeployed and its "
    "posts copied over (docs/posts.md). Change DECLARED here only with that migration documented."
)


def test_the_storage_declaration_is_the_one_deployments_have():
    for variant in ("machine", "k8s"):
        assert metadata(variant)["storage"] == DECLARED, f"{variant}: {WHY}"


def test_the_workload_container_mounts_the_storage_at_its_own_location():
    """Equal paths make the blog immune to which of the two Juju uses (juju#21254)."""
    [mount] = metadata("k8s")["containers"]["blog"]["mounts"]

    assert mount == {"storage": "posts", "location": DECLARED["posts"]["location"]}
