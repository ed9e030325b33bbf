"""Subscription tiers, subscriptions and their perks.

Payment is Discord's own (premium app subscriptions): a tier may name a Discord SKU; ``/subscribe`` then shows
Discord's purchase button, and the entitlement events Discord sends (create / update / delete) start, renew and end
the subscription here (:func:`apply_entitlement`). The bot never sees card data. A tier without a SKU is free: it
can be held only where the server's admins enabled free tiers (``guild_settings.free_tiers_enabled``), and is granted
by command (the person themselves with ``/subscribe``, or an admin or the persona's owner for someone).

Perks take effect through :func:`perks_for` / :func:`perks_for_many` (conversation and memory call them) and
:func:`is_subscriber` (subscriber-only timeline posts).

Time is a parameter: every function that asks "current?" takes ``now``. The package is four rooms, everything
re-exported here (``from bot.services import subscriptions; subscriptions.subscribe(...)``):

- :mod:`~bot.services.subscriptions.records`: the views handed out, and the lookups the others share;
- :mod:`~bot.services.subscriptions.tiers`: tiers, subscribing, free tiers granted and ended;
- :mod:`~bot.services.subscriptions.entitlements`: Discord's entitlements (paid subscriptions);
- :mod:`~bot.services.subscriptions.reading`: a person's subscriptions, who subscribes, and perks.
"""

from __future__ import annotations

from bot.services.subscriptions.entitlements import apply_entitlement, reconcile_entitlements, sellable_sku_ids
from bot.services.subscriptions.reading import (
    is_subscriber,
    list_own,
    perks_by_persona,
    perks_for,
    perks_for_many,
    personas_with_tiers,
    subscriber_ids,
)
from bot.services.subscriptions.records import (
    EntitlementChange,
    EntitlementFacts,
    SubscribeOutcome,
    SubscriptionView,
    TierView,
    free_tiers_enabled,
)
from bot.services.subscriptions.tiers import (
    create_tier,
    delete_tier,
    end_free,
    find_tier,
    grant_free,
    list_tiers,
    set_free_tiers,
    subscribe,
)

__all__ = [
    "EntitlementChange",
    "EntitlementFacts",
    "SubscribeOutcome",
    "SubscriptionView",
    "TierView",
    "apply_entitlement",
    "create_tier",
    "delete_tier",
    "end_free",
    "find_tier",
    "free_tiers_enabled",
    "grant_free",
    "is_subscriber",
    "list_own",
    "list_tiers",
    "perks_by_persona",
    "perks_for",
    "perks_for_many",
    "personas_with_tiers",
    "reconcile_entitlements",
    "sellable_sku_ids",
    "set_free_tiers",
    "subscribe",
    "subscriber_ids",
]
