"""The approval side of the response plan over the API and in the admin: social accounts (secrets go in,
never come out), approval chains saved whole with their steps, approval rules. Admins only; everything
invalid is a 400 naming the field with nothing half-stored, and what is in use is a 409."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from protocols.models import (
    ApprovalChain,
    ApprovalRule,
    ApprovalStep,
    EscalationChain,
    SocialAccount,
)
from tests.roles import ROLES
from tests.sla import office_calendar

ACCOUNTS = "/api/v1/social-accounts/"
CHAINS = "/api/v1/approval-chains/"
RULES = "/api/v1/approval-rules/"
TOKEN = "mastodon-token-do-not-show"
SECRET = "webhook-secret-do-not-show"
LEGAL = {"stage": "legal_review", "role": "legal", "target_minutes": 120}
MANAGEMENT = {"stage": "management_approval", "role": "manager", "target_minutes": 60, "warn_at_percent": 50}


@pytest.fixture
def admin_api(api_for: Callable[[Any], APIClient], admin_user: Any) -> APIClient:
    return api_for(admin_user)


@pytest.fixture
def mastodon_account(db: Any) -> SocialAccount:
    return SocialAccount.objects.create(
        name="Brand on Mastodon",
        platform="mastodon",
        handle="@brand@mastodon.social",
        publisher="mastodon",
        mastodon_base_url="https://mastodon.social",
        mastodon_access_token=TOKEN,
    )


@pytest.fixture
def chain(db: Any) -> ApprovalChain:
    chain = ApprovalChain.objects.create(name="Sign-off")
    ApprovalStep.objects.create(chain=chain, stage="legal_review", role="legal", target_minutes=120)
    ApprovalStep.objects.create(chain=chain, stage="management_approval", role="manager", target_minutes=60)
    return chain


@pytest.fixture
def rule(chain: ApprovalChain) -> ApprovalRule:
    return ApprovalRule.objects.create(tier="crisis", chain=chain)


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()["error"]
    return body


def snapshot() -> list[Any]:
    return [
        list(
            SocialAccount.objects.order_by("pk").values_list(
                "name", "publisher", "webhook_url", "webhook_secret", "mastodon_access_token", "is_active"
            )
        ),
        list(ApprovalChain.objects.order_by("pk").values_list("name", "description")),
        list(ApprovalStep.objects.order_by("pk").values_list("chain_id", "stage", "role", "target_minutes")),
        list(ApprovalRule.objects.order_by("pk").values_list("tier", "priority", "chain_id")),
    ]


# --- who may do what -----------------------------------------------------------------------------------


def calls(client: APIClient, account: SocialAccount, chain: ApprovalChain, rule: ApprovalRule) -> list[Any]:
    """Every endpoint once, writes in an order that works for an admin (deletes last)."""
    spare = ApprovalChain.objects.create(name="Spare")
    ApprovalStep.objects.create(chain=spare, stage="legal_review", role="legal", target_minutes=30)
    new_account = {"name": "Brand on TikTok", "platform": "tiktok", "publisher": "manual"}
    return [
        lambda: client.get(ACCOUNTS),
        lambda: client.get(f"{ACCOUNTS}{account.pk}/"),
        lambda: client.post(ACCOUNTS, new_account, format="json"),
        lambda: client.put(f"{ACCOUNTS}{account.pk}/", {"name": "Renamed", "platform": "x"}, format="json"),
        lambda: client.patch(f"{ACCOUNTS}{account.pk}/", {"is_active": False}, format="json"),
        lambda: client.get(CHAINS),
        lambda: client.get(f"{CHAINS}{chain.pk}/"),
        lambda: client.post(CHAINS, {"name": "Legal only", "steps": [LEGAL]}, format="json"),
        lambda: client.put(
            f"{CHAINS}{chain.pk}/", {"name": "Sign-off", "steps": [MANAGEMENT]}, format="json"
        ),
        lambda: client.patch(f"{CHAINS}{chain.pk}/", {"description": "For crises"}, format="json"),
        lambda: client.get(RULES),
        lambda: client.get(f"{RULES}{rule.pk}/"),
        lambda: client.post(RULES, {"tier": "routine", "chain": None}, format="json"),
        lambda: client.put(f"{RULES}{rule.pk}/", {"tier": "crisis", "priority": "high"}, format="json"),
        lambda: client.patch(f"{RULES}{rule.pk}/", {"chain": spare.pk}, format="json"),
        lambda: client.delete(f"{RULES}{rule.pk}/"),
        lambda: client.delete(f"{CHAINS}{chain.pk}/"),
        lambda: client.delete(f"{ACCOUNTS}{account.pk}/"),
    ]


@pytest.mark.parametrize("who", ROLES)
def test_only_admins_may_read_or_change_any_of_it(
    request: pytest.FixtureRequest,
    api_for: Callable[[Any], APIClient],
    who: str,
    mastodon_account: SocialAccount,
    chain: ApprovalChain,
    rule: ApprovalRule,
) -> None:
    client = api_for(request.getfixturevalue(who))
    endpoints = calls(client, mastodon_account, chain, rule)
    before = snapshot()
    for index, call in enumerate(endpoints):
        response = call()
        if who == "admin_user":
            assert response.status_code in (200, 201, 204), (index, response.content)
        else:
            assert error(response, 403)["code"] == "permission_denied", index
    if who != "admin_user":
        assert snapshot() == before


def test_anonymous_requests_are_401(chain: ApprovalChain) -> None:
    for url in (ACCOUNTS, CHAINS, RULES):
        assert APIClient().get(url).status_code == 401
    assert APIClient().post(CHAINS, {"name": "X", "steps": [LEGAL]}, format="json").status_code == 401


# --- social accounts -----------------------------------------------------------------------------------


def test_account_secrets_go_in_and_never_come_out(admin_api: APIClient) -> None:
    body = {
        "name": "Brand on Mastodon",
        "platform": "mastodon",
        "handle": "@brand@mastodon.social",
        "publisher": "mastodon",
        "mastodon_base_url": "https://mastodon.social",
        "mastodon_access_token": TOKEN,
    }
    created = admin_api.post(ACCOUNTS, body, format="json")
    assert created.status_code == 201, created.content
    account = created.json()
    assert account["has_access_token"] is True and account["has_webhook_secret"] is False
    assert "mastodon_access_token" not in account and "webhook_secret" not in account
    assert SocialAccount.objects.get().mastodon_access_token == TOKEN
    url = f"{ACCOUNTS}{account['id']}/"
    answers = [
        created,
        admin_api.get(ACCOUNTS),
        admin_api.get(url),
        # Changing something else keeps the stored token (nobody can read it back to send it again).
        admin_api.patch(url, {"handle": "@brand"}, format="json"),
        admin_api.put(url, {k: v for k, v in body.items() if k != "mastodon_access_token"}, format="json"),
    ]
    for answer in answers:
        assert TOKEN not in answer.content.decode()
    assert SocialAccount.objects.get().mastodon_access_token == TOKEN
    assert admin_api.get(url).json()["handle"] == "@brand@mastodon.social"


def test_account_put_without_a_secret_keeps_it_and_an_empty_one_removes_it(
    admin_api: APIClient, mastodon_account: SocialAccount
) -> None:
    url = f"{ACCOUNTS}{mastodon_account.pk}/"
    body = {
        "name": "Brand on Mastodon",
        "platform": "mastodon",
        "publisher": "mastodon",
        "mastodon_base_url": "https://mastodon.social",
    }
    kept = admin_api.put(url, body, format="json")
    assert kept.status_code == 200 and kept.json()["has_access_token"] is True
    # A Mastodon account cannot work without a token: removing it is refused, naming the field.
    problem = error(admin_api.patch(url, {"mastodon_access_token": ""}, format="json"), 400)
    assert problem["fields"] == {"mastodon_access_token": ["A Mastodon account needs an access token."]}
    assert TOKEN not in str(problem)
    # Once posted to by hand it needs none.
    manual = admin_api.patch(url, {"publisher": "manual", "mastodon_access_token": ""}, format="json")
    assert manual.status_code == 200 and manual.json()["has_access_token"] is False
    mastodon_account.refresh_from_db()
    assert mastodon_account.mastodon_access_token == ""


def test_a_webhook_account_with_its_secret(admin_api: APIClient) -> None:
    body = {
        "name": "Brand on X",
        "platform": "x",
        "publisher": "webhook",
        "webhook_url": "https://hooks.zapier.example/hooks/catch/123/abc/",
        "webhook_secret": SECRET,
    }
    created = admin_api.post(ACCOUNTS, body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["has_webhook_secret"] is True and SECRET not in created.content.decode()
    assert SocialAccount.objects.get().webhook_secret == SECRET


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"webhook_secret": ""}, "webhook_secret", "needs a signing secret"),
        ({"webhook_url": ""}, "webhook_url", "needs the URL to post to"),
        ({"webhook_url": "ftp://bridge.example/hook"}, "webhook_url", "http:// and https://"),
        ({"webhook_url": "not a url"}, "webhook_url", ""),
        ({"publisher": "carrier_pigeon"}, "publisher", ""),
        ({"platform": "myspace"}, "platform", ""),
        ({"name": ""}, "name", ""),
        ({"name": "Brand on Mastodon"}, "name", "already exists"),
        ({"webhook_secret": "x" * 201}, "webhook_secret", ""),
    ],
)
def test_invalid_accounts_are_400_naming_the_field(
    admin_api: APIClient, mastodon_account: SocialAccount, body: dict[str, Any], field: str, says: str
) -> None:
    before = snapshot()
    full = {
        "name": "Brand on X",
        "platform": "x",
        "publisher": "webhook",
        "webhook_url": "https://bridge.example/hook",
        "webhook_secret": SECRET,
        **body,
    }
    response = admin_api.post(ACCOUNTS, full, format="json")
    problem = error(response, 400)
    assert problem["code"] == "invalid" and field in problem["fields"], problem
    assert says in str(problem["fields"][field]), problem
    assert SECRET not in response.content.decode()
    assert snapshot() == before


def test_mastodon_account_needs_its_instance(admin_api: APIClient) -> None:
    body = {"name": "M", "platform": "mastodon", "publisher": "mastodon", "mastodon_access_token": TOKEN}
    problem = error(admin_api.post(ACCOUNTS, body, format="json"), 400)
    assert problem["fields"] == {"mastodon_base_url": ["A Mastodon account needs the instance URL."]}
    assert not SocialAccount.objects.exists()


def test_accounts_list_filters(admin_api: APIClient, mastodon_account: SocialAccount) -> None:
    SocialAccount.objects.create(name="Brand on TikTok", platform="tiktok", is_active=False)

    def names(**query: str) -> list[str]:
        return [a["name"] for a in admin_api.get(ACCOUNTS, query).json()["results"]]

    assert names() == ["Brand on Mastodon", "Brand on TikTok"]
    assert names(publisher="manual") == ["Brand on TikTok"]
    assert names(is_active="true") == ["Brand on Mastodon"]
    assert names(name="tik") == ["Brand on TikTok"]
    assert admin_api.get(ACCOUNTS, {"platform": "myspace"}).status_code == 400


def test_deleting_an_account(admin_api: APIClient, mastodon_account: SocialAccount) -> None:
    url = f"{ACCOUNTS}{mastodon_account.pk}/"
    assert admin_api.delete(url).status_code == 204
    assert not SocialAccount.objects.exists()
    assert error(admin_api.delete(url), 404)["code"] == "not_found"


# --- approval chains -----------------------------------------------------------------------------------


def test_chain_is_saved_whole_with_its_steps_in_stage_order(admin_api: APIClient) -> None:
    calendar = office_calendar()
    escalation = EscalationChain.objects.create(name="Page the manager")
    management = {**MANAGEMENT, "calendar": calendar.pk, "escalation_chain": escalation.pk}
    created = admin_api.post(CHAINS, {"name": "Crisis", "steps": [management, LEGAL]}, format="json")
    assert created.status_code == 201, created.content
    chain = created.json()
    assert [(s["stage"], s["role"], s["target_minutes"]) for s in chain["steps"]] == [
        ("legal_review", "legal", 120),
        ("management_approval", "manager", 60),
    ]
    legal, manager = chain["steps"]
    assert legal["warn_at_percent"] == 75 and legal["calendar"] is None and legal["calendar_name"] is None
    assert manager["calendar_name"] == "Office" and manager["escalation_chain_name"] == "Page the manager"
    url = f"{CHAINS}{chain['id']}/"
    kept = admin_api.patch(url, {"description": "Anything in crisis mode"}, format="json").json()
    assert kept["description"] == "Anything in crisis mode" and len(kept["steps"]) == 2
    replaced = admin_api.put(url, {"name": "Crisis", "steps": [MANAGEMENT]}, format="json").json()
    assert [s["stage"] for s in replaced["steps"]] == ["management_approval"]
    assert replaced["description"] == ""  # PUT replaces what it was not given
    assert ApprovalStep.objects.filter(chain_id=chain["id"]).count() == 1
    listed = admin_api.get(CHAINS, {"name": "cris"}).json()["results"]
    assert [c["name"] for c in listed] == ["Crisis"]


@pytest.mark.parametrize(
    ("steps", "row", "field", "says"),
    [
        ([LEGAL, {**LEGAL, "role": "pr"}], "1", "stage", "Legal review is already step 1"),
        ([LEGAL, {**LEGAL, "role": "integration"}], "1", "role", "pick a team role"),
        ([LEGAL, {**MANAGEMENT, "role": "integration"}], "1", "role", "pick a team role"),
        ([LEGAL, {**MANAGEMENT, "role": "ceo"}], "1", "role", "not a valid choice"),
        ([LEGAL, {**MANAGEMENT, "stage": "pr_review"}], "1", "stage", "not a valid choice"),
        ([LEGAL, {**MANAGEMENT, "target_minutes": 0}], "1", "target_minutes", ""),
        ([LEGAL, {**MANAGEMENT, "target_minutes": None}], "1", "target_minutes", ""),
        ([LEGAL, {**MANAGEMENT, "warn_at_percent": 100}], "1", "warn_at_percent", ""),
        ([LEGAL, {**MANAGEMENT, "calendar": 999999}], "1", "calendar", ""),
        ([LEGAL, {**MANAGEMENT, "escalation_chain": 999999}], "1", "escalation_chain", ""),
        ([{"role": "legal", "target_minutes": 5}], "0", "stage", "required"),
    ],
)
def test_invalid_steps_are_400_naming_the_step_and_nothing_is_stored(
    admin_api: APIClient, chain: ApprovalChain, steps: list[dict[str, Any]], row: str, field: str, says: str
) -> None:
    before = snapshot()
    problem = error(admin_api.post(CHAINS, {"name": "Broken", "steps": steps}, format="json"), 400)
    assert list(problem["fields"]["steps"]) == [row] and field in problem["fields"]["steps"][row], problem
    assert says in str(problem["fields"]["steps"][row][field]), problem
    # Changing a chain the same way leaves its old steps alone.
    error(admin_api.patch(f"{CHAINS}{chain.pk}/", {"steps": steps}, format="json"), 400)
    error(admin_api.put(f"{CHAINS}{chain.pk}/", {"name": "Sign-off", "steps": steps}, format="json"), 400)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"steps": []}, "steps", "at least one step"),
        ({"steps": "legal"}, "steps", ""),
        ({"steps": [LEGAL] * 11}, "steps", ""),
        ({"name": ""}, "name", ""),
        ({"name": "Sign-off"}, "name", "already used"),
    ],
)
def test_invalid_chains_are_400(
    admin_api: APIClient, chain: ApprovalChain, body: dict[str, Any], field: str, says: str
) -> None:
    before = snapshot()
    problem = error(admin_api.post(CHAINS, {"name": "New", "steps": [LEGAL], **body}, format="json"), 400)
    assert field in problem["fields"] and says in str(problem["fields"][field]), problem
    assert problem["message"].startswith(f"{field}: ")
    assert snapshot() == before


def test_a_new_chain_needs_its_steps(admin_api: APIClient) -> None:
    problem = error(admin_api.post(CHAINS, {"name": "Empty"}, format="json"), 400)
    assert "at least one step" in str(problem["fields"]["steps"])
    assert not ApprovalChain.objects.exists()


def test_deleting_a_chain_a_rule_uses_is_409(admin_api: APIClient, rule: ApprovalRule) -> None:
    url = f"{CHAINS}{rule.chain_id}/"
    problem = error(admin_api.delete(url), 409)
    assert problem["code"] == "in_use" and "Crisis, any priority" in problem["message"]
    assert ApprovalChain.objects.filter(pk=rule.chain_id).exists()
    assert admin_api.patch(f"{RULES}{rule.pk}/", {"chain": None}, format="json").status_code == 200
    assert admin_api.delete(url).status_code == 204
    assert not ApprovalStep.objects.exists()
    assert error(admin_api.delete(url), 404)["code"] == "not_found"


# --- approval rules ------------------------------------------------------------------------------------


def test_rule_crud(admin_api: APIClient, chain: ApprovalChain) -> None:
    created = admin_api.post(RULES, {"tier": "crisis", "chain": chain.pk}, format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule["priority"] == "" and rule["chain_name"] == "Sign-off"
    no_approval = admin_api.post(RULES, {"tier": "routine", "priority": "low", "chain": None}, format="json")
    assert no_approval.status_code == 201 and no_approval.json()["chain"] is None
    url = f"{RULES}{rule['id']}/"
    changed = admin_api.patch(url, {"priority": "critical"}, format="json").json()
    assert changed["tier"] == "crisis" and changed["priority"] == "critical" and changed["chain"] == chain.pk
    listed = admin_api.get(RULES, {"tier": "crisis"}).json()["results"]
    assert [r["id"] for r in listed] == [rule["id"]]
    assert admin_api.delete(url).status_code == 204
    assert list(ApprovalRule.objects.values_list("tier", flat=True)) == ["routine"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "crisis"}, "non_field_errors"),  # the fixture's rule covers crisis / any priority
        ({"tier": "apocalypse"}, "tier"),
        ({"priority": "urgent"}, "priority"),
        ({"chain": 999999}, "chain"),
        ({"chain": "first"}, "chain"),
    ],
)
def test_invalid_rules_are_400(
    admin_api: APIClient, rule: ApprovalRule, body: dict[str, Any], field: str
) -> None:
    before = snapshot()
    problem = error(admin_api.post(RULES, {"tier": "routine", **body}, format="json"), 400)
    assert field in problem["fields"], problem
    assert snapshot() == before


def test_a_rule_cannot_be_moved_onto_another_rules_match(admin_api: APIClient, rule: ApprovalRule) -> None:
    other = ApprovalRule.objects.create(tier="routine")
    problem = error(admin_api.patch(f"{RULES}{other.pk}/", {"tier": "crisis"}, format="json"), 400)
    assert "already covers" in problem["message"]
    other.refresh_from_db()
    assert other.tier == "routine"


# --- the admin screens ---------------------------------------------------------------------------------


@pytest.fixture
def staff(admin_user: Any) -> Client:
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    return client


ADMIN_ACCOUNTS = "/admin/protocols/socialaccount/"
ADMIN_CHAINS = "/admin/protocols/approvalchain/"
ADMIN_RULES = "/admin/protocols/approvalrule/"


def account_form(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Brand on X",
        "platform": "x",
        "handle": "@brand",
        "publisher": "webhook",
        "webhook_url": "https://bridge.example/hook",
        "webhook_secret": "",
        "mastodon_base_url": "",
        "mastodon_access_token": "",
        "is_active": "on",
        **fields,
    }


def test_admin_account_form_shows_what_the_publisher_needs(staff: Client) -> None:
    response = staff.post(f"{ADMIN_ACCOUNTS}add/", account_form())
    assert (
        response.status_code == 200
        and "A webhook account needs a signing secret." in response.content.decode()
    )
    assert not SocialAccount.objects.exists()
    response = staff.post(f"{ADMIN_ACCOUNTS}add/", account_form(webhook_url="ftp://bridge.example/hook"))
    assert "Only http:// and https:// URLs" in response.content.decode()
    assert staff.post(f"{ADMIN_ACCOUNTS}add/", account_form(webhook_secret=SECRET)).status_code == 302
    assert SocialAccount.objects.get().webhook_secret == SECRET


def test_admin_never_shows_a_secret_and_keeps_it_when_left_empty(
    staff: Client, mastodon_account: SocialAccount
) -> None:
    change = f"{ADMIN_ACCOUNTS}{mastodon_account.pk}/change/"
    for page in (staff.get(ADMIN_ACCOUNTS), staff.get(change)):
        assert page.status_code == 200 and TOKEN not in page.content.decode()
    form = account_form(
        name="Brand on Mastodon",
        platform="mastodon",
        publisher="mastodon",
        webhook_url="",
        mastodon_base_url="https://mastodon.social",
        handle="@news@mastodon.social",
    )
    assert staff.post(change, form).status_code == 302
    mastodon_account.refresh_from_db()
    assert (
        mastodon_account.handle == "@news@mastodon.social" and mastodon_account.mastodon_access_token == TOKEN
    )
    # Removing the token of an account that posts through Mastodon is refused with the model's reason.
    refused = staff.post(change, {**form, "remove_access_token": "on"})
    assert "A Mastodon account needs an access token." in refused.content.decode()
    assert staff.post(change, {**form, "publisher": "manual", "remove_access_token": "on"}).status_code == 302
    mastodon_account.refresh_from_db()
    assert mastodon_account.mastodon_access_token == ""


def steps_form(rows: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "1",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        data.update({f"steps-{index}-{key}": value for key, value in row.items()})
    return data


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ([], "An approval chain needs at least one step"),
        ([LEGAL, {**LEGAL, "role": "pr"}], "Please correct the duplicate data for stage"),
        ([{**LEGAL, "role": "integration"}], "Select a valid choice"),
    ],
)
def test_admin_chain_mistakes_are_shown_and_nothing_is_saved(
    staff: Client, rows: list[dict[str, Any]], says: str
) -> None:
    response = staff.post(f"{ADMIN_CHAINS}add/", {"name": "Crisis", "description": "", **steps_form(rows)})
    assert response.status_code == 200 and says in response.content.decode()
    assert not ApprovalChain.objects.exists() and not ApprovalStep.objects.exists()


def test_admin_chain_and_rule_are_added(staff: Client) -> None:
    form = {"name": "Crisis", "description": "", **steps_form([LEGAL, {**MANAGEMENT, "warn_at_percent": ""}])}
    assert staff.post(f"{ADMIN_CHAINS}add/", form).status_code == 302
    chain = ApprovalChain.objects.get()
    assert sorted(chain.steps.values_list("stage", "warn_at_percent")) == [
        ("legal_review", 75),
        ("management_approval", None),
    ]
    listing = staff.get(ADMIN_CHAINS).content.decode()
    assert "Legal review by Legal within 120 min → Management approval by Manager within 60 min" in listing
    assert (
        staff.post(f"{ADMIN_RULES}add/", {"tier": "crisis", "priority": "", "chain": chain.pk}).status_code
        == 302
    )
    again = staff.post(f"{ADMIN_RULES}add/", {"tier": "crisis", "priority": "", "chain": ""})
    assert "Another rule already covers this tier and priority." in again.content.decode()
    assert ApprovalRule.objects.count() == 1
    assert staff.get(ADMIN_RULES).status_code == 200
