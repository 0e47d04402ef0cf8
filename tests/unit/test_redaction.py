"""Labels that look like secrets are redacted by default, and the secret never appears anywhere.

"Anywhere" is the exported body, the record's attributes, the metric attributes and the tracker's
own warnings: each test that redacts also searches all four for the secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gyrinx_tracker import stats
from gyrinx_tracker import track as _typed_track
from gyrinx_tracker._core.tokens import is_card_number
from gyrinx_tracker.testing import Capture, CapturedEvent, capture_events

REDACTED = "[REDACTED]"
SECRET = "hunter2-s3cr3t-value"
# Keys are spelled out as **{"X-Api-Key": ...}; mypy would match such a dict against n and value.
track: Callable[..., None] = _typed_track
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[Capture]:
    """The real pipeline into memory, non-strict (redacting a credential value warns there)."""
    caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
    with capture_events(strict=False) as capture:
        yield capture


def exported(capture: Capture) -> CapturedEvent:
    (event,) = capture.events
    return event


def assert_nowhere(capture: Capture, caplog: pytest.LogCaptureFixture, secret: str) -> None:
    """The secret is in no exported body, record attribute, metric attribute or log message."""
    for event in capture.events:
        assert secret not in json.dumps(event.body), event.body
        assert secret not in repr(event.attributes), event.attributes
    for point in capture.metric_points():
        assert secret not in repr(point.attributes), point
    for record in caplog.records:
        assert secret not in record.getMessage()


SECRET_KEYS = [
    "password", "PASSWORD", "user_password", "userPassword", "passwd", "passphrase", "pwd", "db_pwd",
    "userPwd", "secret", "client_secret", "clientSecret", "AWS_SECRET_ACCESS_KEY", "api_key", "apiKey",
    "APIKey", "X-Api-Key", "api.key", "access_key", "private_key", "privateKey", "authorization",
    "Authorization", "HTTP_AUTHORIZATION", "auth", "auth_header", "Cookie", "set-cookie", "session",
    "session_id", "sessionid", "sessionKey", "credit_card", "creditCardNumber", "card_number",
    "cardNumber", "card_no", "cvv", "CVV", "cvv2", "card_cvv", "cardCvv", "cvc", "ssn", "jwt",
    "token", "access_token", "refresh_token", "accessToken", "csrftoken", "id_token", "credentials",
    "bearer", "pin",
]

INNOCENT_KEYS = [
    "endpoint", "method", "status", "feature", "user_type", "items_count", "list_id", "user_id",
    "username", "noun", "verb", "author", "authority", "passenger", "compass", "pinned", "spinner",
    "keyboard", "primary_key", "monkey", "card_id", "card_notes", "discard_number", "description",
    "stat_name", "model_class", "error_type", "code",
]


class TestSecretKeys:
    @pytest.mark.parametrize("key", SECRET_KEYS)
    def test_secret_looking_key_is_redacted(self, captured: Capture, caplog: pytest.LogCaptureFixture,
                                            key: str) -> None:
        """A key that names a secret has its value replaced, whatever its case or separators."""
        track("login", **{key: SECRET, "endpoint": "/login"})
        assert exported(captured).labels == {key: REDACTED, "endpoint": "/login"}
        assert_nowhere(captured, caplog, SECRET)

    @pytest.mark.parametrize("key", INNOCENT_KEYS)
    def test_innocent_key_is_kept(self, captured: Capture, key: str) -> None:
        """Keys that merely contain a fragment of a secret word (author, passenger, spinner) are kept."""
        track("api_call", **{key: "value"})
        assert exported(captured).labels == {key: "value"}

    def test_a_plural_secret_word_is_redacted(self, captured: Capture) -> None:
        """Decided: ``tokens`` is the word ``token`` in the plural, redacted (allow it to keep)."""
        track("llm_call", tokens=1234)
        assert exported(captured).labels == {"tokens": REDACTED}

    @pytest.mark.parametrize("key", ["token_count", "session_count", "tokens_used"])
    def test_a_key_that_describes_a_secret_is_kept(self, captured: Capture, key: str) -> None:
        """Issue 26: a key whose last word is a count or a property (``token_count``) holds no secret."""
        track("llm_call", **{key: 1234})
        assert exported(captured).labels == {key: 1234}

    @pytest.mark.parametrize("value", [SECRET, 1234, None, ["a", SECRET], {"nested": SECRET}, SECRET.encode()],
                             ids=["str", "int", "none", "list", "dict", "bytes"])
    def test_the_whole_value_is_replaced_whatever_its_type(self, captured: Capture,
                                                           caplog: pytest.LogCaptureFixture,
                                                           value: object) -> None:
        """Redaction replaces the value entirely: no prefix, length or type of it is echoed."""
        track("login", password=value)
        assert exported(captured).labels == {"password": REDACTED}
        assert_nowhere(captured, caplog, SECRET)

    def test_a_secret_key_value_is_never_converted(self, captured: Capture) -> None:
        """The value under a secret key is not even str()-ed: a lazy object is never evaluated."""
        calls: list[str] = []

        class Lazy:
            def __str__(self) -> str:
                calls.append("str")
                return SECRET

        track("login", api_key=Lazy())
        assert exported(captured).labels == {"api_key": REDACTED}
        assert calls == []


class TestNested:
    def test_nested_secret_keys_are_redacted(self, captured: Capture, caplog: pytest.LogCaptureFixture) -> None:
        """Secret keys inside dicts, lists of dicts and dicts of dicts are redacted; siblings are kept."""
        track("request", headers={"Authorization": SECRET, "Accept": "json"},
              forms=[{"password": SECRET, "user": "bob"}],
              config={"db": {"dbPassword": SECRET, "host": "db"}})
        assert exported(captured).labels == {
            "headers": {"Authorization": REDACTED, "Accept": "json"},
            "forms": [{"password": REDACTED, "user": "bob"}],
            "config": {"db": {"dbPassword": REDACTED, "host": "db"}},
        }
        assert_nowhere(captured, caplog, SECRET)

    def test_a_secret_key_holding_a_structure_is_redacted_whole(self, captured: Capture,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
        """A secret-named key's value is replaced even when it is a dict or list."""
        track("request", meta={"session": {"id": SECRET, "user": "bob"}})
        assert exported(captured).labels == {"meta": {"session": REDACTED}}
        assert_nowhere(captured, caplog, SECRET)


class TestSecretValues:
    @pytest.mark.parametrize("value", [
        f"Bearer {SECRET}",
        f"bearer {SECRET}",
        "Basic dXNlcjpodW50ZXIy",  # base64 of user:hunter2
        JWT,
        f"Authorization: Bearer {SECRET}",
        f"token was {JWT} (expired)",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...",
    ], ids=["bearer", "bearer_lower", "basic", "jwt", "bearer_inside", "jwt_inside", "pem"])
    def test_credential_under_an_innocent_key_is_redacted(self, captured: Capture,
                                                          caplog: pytest.LogCaptureFixture, value: str) -> None:
        """A string that is a credential is redacted whatever key it sits under."""
        track("api_call", header=value, nested=[value], obj={"note": value}, raw=value.encode())
        assert exported(captured).labels == {"header": REDACTED, "nested": [REDACTED],
                                             "obj": {"note": REDACTED}, "raw": REDACTED}
        assert_nowhere(captured, caplog, value)
        assert_nowhere(captured, caplog, value[-12:])

    @pytest.mark.parametrize("value", ["Basic plan", "Basic tier", "eyJust a string", "plain text",
                                       "bearer", "JWT", "Token expired"])
    def test_ordinary_strings_are_kept(self, captured: Capture, value: str) -> None:
        """Product tiers and messages that only resemble credential formats are kept."""
        track("signup", plan=value)
        assert exported(captured).labels == {"plan": value}

    def test_anything_starting_with_bearer_and_a_space_is_treated_as_a_credential(self, captured: Capture) -> None:
        """Decided: ``Bearer <anything>`` is redacted even when it is prose; a leak costs more."""
        track("quote", text="Bearer of bad news")
        assert exported(captured).labels == {"text": REDACTED}

    def test_a_long_credential_is_redacted_not_truncated(self, captured: Capture,
                                                         caplog: pytest.LogCaptureFixture) -> None:
        """Truncation keeps the head of a string; a credential's head must not survive it."""
        track("api_call", header="Bearer " + SECRET * 1000)
        assert exported(captured).labels == {"header": REDACTED}
        assert_nowhere(captured, caplog, SECRET)

    def test_redacting_a_value_warns_without_echoing_it(self, captured: Capture,
                                                        caplog: pytest.LogCaptureFixture) -> None:
        """The developer hears that a credential was caught, and nothing of the credential itself."""
        track("api_call", header=f"Bearer {SECRET}")
        exported(captured)
        messages = [r.getMessage() for r in caplog.records if r.name == "gyrinx_tracker"]
        assert any("credential" in m for m in messages)
        assert_nowhere(captured, caplog, SECRET)


class TestConfiguration:
    def test_redact_allow_keeps_named_keys(self) -> None:
        """Keys in redact_allow are never redacted by key; other secret keys still are."""
        with capture_events(strict=False, redact_allow=["tokens", "session_id"]) as capture:
            track("llm_call", tokens=1234, session_id="abc", password=SECRET)
            assert exported(capture).labels == {"tokens": 1234, "session_id": "abc", "password": REDACTED}

    def test_redact_allow_matches_any_spelling_of_the_key(self) -> None:
        """An allowed key matches its other spellings: case, separators, camelCase."""
        with capture_events(strict=False, redact_allow=["session_id"]) as capture:
            track("visit", **{"Session-Id": "a", "sessionId": "b", "SESSION_ID": "c"})
            assert exported(capture).labels == {"Session-Id": "a", "sessionId": "b", "SESSION_ID": "c"}

    def test_redact_allow_applies_to_nested_keys(self) -> None:
        """The allowlist is the same rule for nested dicts."""
        with capture_events(strict=False, redact_allow=["tokens"]) as capture:
            track("llm_call", usage={"tokens": 10, "secret": SECRET})
            assert exported(capture).labels == {"usage": {"tokens": 10, "secret": REDACTED}}

    def test_allowing_a_key_does_not_let_a_credential_value_through(self) -> None:
        """A Bearer token under an allowed key is still caught by its value."""
        with capture_events(strict=False, redact_allow=["auth_header"]) as capture:
            track("api_call", auth_header=f"Bearer {SECRET}", other_header="gzip")
            assert exported(capture).labels == {"auth_header": REDACTED, "other_header": "gzip"}

    def test_redact_extra_adds_patterns(self) -> None:
        """Extra patterns match the normalised key (lower case, separators as _), case-insensitively."""
        with capture_events(strict=False, redact_extra=["internal_?note", "^memo$"]) as capture:
            track("ticket", internalNote=SECRET, **{"INTERNAL-NOTE": SECRET, "memo": SECRET,
                                                     "memo_count": 2, "note": "kept"})
            assert exported(capture).labels == {"internalNote": REDACTED, "INTERNAL-NOTE": REDACTED,
                                                "memo": REDACTED, "memo_count": 2, "note": "kept"}

    def test_extra_patterns_keep_the_defaults(self) -> None:
        """Adding patterns does not replace the built-in ones."""
        with capture_events(strict=False, redact_extra=["memo"]) as capture:
            track("ticket", password=SECRET, memo=SECRET)
            assert exported(capture).labels == {"password": REDACTED, "memo": REDACTED}

    def test_environment_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """GYRINX_TRACKER_REDACT_ALLOW and _EXTRA are comma-separated lists with the same meaning."""
        monkeypatch.setenv("GYRINX_TRACKER_REDACT_ALLOW", "tokens, session_id")
        monkeypatch.setenv("GYRINX_TRACKER_REDACT_EXTRA", "internal_?note,^memo$")
        with capture_events(strict=False) as capture:
            track("t", tokens=5, session_id="s", internal_note=SECRET, memo=SECRET, password=SECRET)
            assert exported(capture).labels == {"tokens": 5, "session_id": "s", "internal_note": REDACTED,
                                                "memo": REDACTED, "password": REDACTED}

    @pytest.mark.parametrize("pattern", ["(", "[ab", "x(?i)y"], ids=["unclosed_group", "unclosed_set",
                                                                     "inline_flag_mid_pattern"])
    def test_a_bad_extra_pattern_warns_and_never_raises(self, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture, pattern: str) -> None:
        """A pattern that is not a regex warns once and is matched literally; track() does not raise."""
        caplog.set_level(logging.WARNING, logger="gyrinx_tracker")
        monkeypatch.setenv("GYRINX_TRACKER_REDACT_EXTRA", f"{pattern},^memo$")
        with capture_events(strict=False) as capture:
            track("t", memo=SECRET, password=SECRET, note="kept", **{f"a{pattern}b": SECRET})
            assert exported(capture).labels == {"memo": REDACTED, "password": REDACTED, "note": "kept",
                                                f"a{pattern}b": REDACTED}
        assert any("not a regular expression" in r.getMessage() for r in caplog.records)

    def test_the_default_track_with_a_bad_extra_pattern_does_not_raise(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without configure(), the first track() builds the pipeline from the environment: still no raise."""
        monkeypatch.setenv("GYRINX_TRACKER_REDACT_EXTRA", "(")
        monkeypatch.setenv("GYRINX_TRACKER_EXPORTER", "console")
        track("t", memo="x")
        assert stats()["emitted"] == 1


class TestNoLeak:
    def test_strict_mode_does_not_raise_for_secret_keys(self) -> None:
        """Redacting a secret-named key is the documented behaviour, so strict mode lets it pass."""
        with capture_events() as capture:
            track("login", password=SECRET)
            assert exported(capture).labels == {"password": REDACTED}

    def test_redacted_labels_do_not_leak_into_metrics(self, captured: Capture,
                                                      caplog: pytest.LogCaptureFixture) -> None:
        """Metric attributes are built from the redacted labels, never the raw ones."""
        for index in range(3):
            track("login", password=f"{SECRET}{index}", header=f"Bearer {SECRET}{index}", method="POST")
        assert captured.count("login", method="POST") == 3
        assert_nowhere(captured, caplog, SECRET)

    def test_record_attributes_carry_the_redacted_value(self, captured: Capture) -> None:
        """The per-label record attributes a collector routes on hold the redaction marker too."""
        track("login", password=SECRET)
        attributes: dict[str, Any] = exported(captured).attributes
        assert attributes["gyrinx.label.password"] == REDACTED


class TestCredentialsInsideValues:
    @pytest.mark.parametrize(("value", "expected"), [
        ("postgres://app:pw-s3cr3t@db:5432/shop", "postgres://app:[REDACTED]@db:5432/shop"),
        ("redis://:pw-s3cr3t@cache:6379/0", "redis://:[REDACTED]@cache:6379/0"),
        ("https://cb.example/done?access_token=pw-s3cr3t&page=2", "https://cb.example/done?access_token=[REDACTED]&page=2"),
        ("/maps?key=pw-s3cr3t", "/maps?key=[REDACTED]"),
        ("/hook?token=pw-s3cr3t", "/hook?token=[REDACTED]"),
        ("/blob?sv=2022&sig=pw-s3cr3t&se=2030", "/blob?sv=2022&sig=[REDACTED]&se=2030"),
        ("/s3?X-Amz-Signature=pw-s3cr3t", "/s3?X-Amz-Signature=[REDACTED]"),
        ("password=pw-s3cr3t", "password=[REDACTED]"),
    ], ids=["dsn", "dsn_no_user", "access_token", "key", "token", "sas_sig", "amz_signature", "form"])
    def test_only_the_secret_part_is_replaced(self, captured: Capture, caplog: pytest.LogCaptureFixture,
                                              value: str, expected: str) -> None:
        """A URL's password and secret-named query parameters are replaced; the rest stays readable."""
        track("api_call", url=value, nested=[value])
        assert exported(captured).labels == {"url": expected, "nested": [expected]}
        assert_nowhere(captured, caplog, "pw-s3cr3t")

    @pytest.mark.parametrize("value", ["https://example.com/a?page=2&q=shoes", "user@example.com", "/search?code=US",
                                       "https://example.com/path", "a=b", "x = y"])
    def test_urls_and_parameters_without_secrets_are_kept(self, captured: Capture, value: str) -> None:
        """Ordinary URLs, e-mail addresses and parameters pass unchanged."""
        track("api_call", url=value)
        assert exported(captured).labels == {"url": value}


KEY_SHAPED = {
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "aws_temporary": "ASIAIOSFODNN7EXAMPLE",
    "stripe_live": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "stripe_test": "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "stripe_restricted": "rk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "github_classic": "ghp_" + "a" * 36,
    "github_fine_grained": "github_pat_" + "11ABCDEFG0" * 3,
    "gitlab": "glpat-" + "x" * 20,
    "slack_bot": "xoxb-1234-5678-abcdefghij",
    "google_api": "AIza" + "S" * 35,
    "npm": "npm_" + "a" * 36,
}


class TestKeyShapedValues:
    @pytest.mark.parametrize("value", list(KEY_SHAPED.values()), ids=list(KEY_SHAPED))
    def test_well_known_key_formats_are_redacted_under_any_key(self, captured: Capture,
                                                               caplog: pytest.LogCaptureFixture, value: str) -> None:
        """A value shaped like a cloud, payment or code-host key is redacted whatever its label key."""
        track("deploy", note=value, nested={"x": value})
        assert exported(captured).labels == {"note": REDACTED, "nested": {"x": REDACTED}}
        assert_nowhere(captured, caplog, value)

    @pytest.mark.parametrize("value", ["AKIA", "sk_live_short", "ghp_short", "AKIA lower case words here",
                                       "skeleton_live_view_of_the_app"])
    def test_prefixes_alone_are_not_keys(self, captured: Capture, value: str) -> None:
        """A prefix without a key's length and alphabet is kept."""
        track("deploy", note=value)
        assert exported(captured).labels == {"note": value}


class TestMoreSecretKeys:
    @pytest.mark.parametrize("key", ["passcode", "otp", "user_otp", "totp", "signature", "webhook_signature"])
    def test_key_is_redacted(self, captured: Capture, key: str) -> None:
        """One-time codes, passcodes and signatures are secrets under their own names."""
        track("login", **{key: "123456"})
        assert exported(captured).labels == {key: REDACTED}

    @pytest.mark.parametrize("key", ["hotpath", "notpad", "signatures_seen"])
    def test_similar_words_are_kept(self, captured: Capture, key: str) -> None:
        """Words that only contain those letters keep their value."""
        track("login", **{key: "1"})
        assert exported(captured).labels == {key: "1"}


class TestEmailsOptIn:
    def test_emails_are_kept_by_default(self, captured: Capture) -> None:
        """An e-mail address is data unless the application opts in."""
        track("signup", contact="bob@example.com", note="mail bob@example.com now")
        assert exported(captured).labels == {"contact": "bob@example.com", "note": "mail bob@example.com now"}

    def test_the_variable_redacts_emails_where_they_stand(self, monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
        """GYRINX_TRACKER_REDACT_EMAILS=1: addresses in values, nested values and keys are replaced,
        the text around them kept."""
        monkeypatch.setenv("GYRINX_TRACKER_REDACT_EMAILS", "1")
        with capture_events(strict=False) as capture:
            track("signup", contact="bob.smith+x@mail.example.co.uk", note="mail bob@example.com now",
                  nested={"to": ["ann@example.org"]}, **{"alice@example.com": 1}, plain="no address here")
            assert exported(capture).labels == {"contact": REDACTED, "note": f"mail {REDACTED} now",
                                                "nested": {"to": [REDACTED]}, REDACTED: 1,
                                                "plain": "no address here"}
            assert_nowhere(capture, caplog, "example")

    def test_the_option_from_code(self) -> None:
        """``redact_emails=True`` is the same option from code; an scp-style git remote is address-shaped too."""
        with capture_events(strict=False, redact_emails=True) as capture:
            track("push", author="dev@example.com", remote="git@github.com:org/repo.git")
            assert exported(capture).labels == {"author": REDACTED, "remote": f"{REDACTED}:org/repo.git"}


class TestCardNumbers:
    @pytest.mark.parametrize("digits", ["4111111111111111", "5555555555554444", "378282246310005",
                                        "6011111111111117", "3530111333300000", "2223003122003222"])
    def test_test_card_numbers_pass_luhn_and_the_network_check(self, digits: str) -> None:
        """The networks' published test numbers are recognised."""
        assert is_card_number(digits)

    @pytest.mark.parametrize("digits", ["4111111111111112", "1234567890123452", "7992739871300000",
                                        "411111111111", "41111111111111111111", "9780306406157"])
    def test_other_digit_runs_are_not_cards(self, digits: str) -> None:
        """A failed checksum, a non-card leading digit or a length outside 13-19 is no card."""
        assert not is_card_number(digits)


HOSTILE_STRUCTURES = {
    "nested_params": "?" + "a=" * 4096,
    "nested_urls": "?a=?" * 2000,
    "deep_json": "[" * 8000,
    "deep_objects": '{"a":' * 1600,
    "many_colons": "a://" + "a:" * 4096,
    "cut_repr": "{'password': '" + "x" * 8000,
}


class TestHostileStructures:
    @pytest.mark.parametrize("value", list(HOSTILE_STRUCTURES.values()), ids=list(HOSTILE_STRUCTURES))
    def test_a_hostile_structured_string_is_delivered(self, captured: Capture, value: str) -> None:
        """Strings built to recurse or backtrack in the parsers still give one event (``?a=a=a=...``
        recursed once per ``=`` and raised RecursionError before the nesting bound)."""
        track("api_call", note=value, method="GET")
        labels = exported(captured).labels
        assert labels["method"] == "GET" and isinstance(labels["note"], str)
        assert "x" * 100 not in labels["note"]  # the cut repr's password is gone


class TestSecretKeysStayDistinct:
    def test_two_secret_keys_in_one_event_keep_both_values(self, captured: Capture,
                                                           caplog: pytest.LogCaptureFixture) -> None:
        """Keys that are credentials hide as ``[REDACTED]``, ``[REDACTED]#2``: no label is lost to a
        collision (hypothesis found ``{'Bearer ': None, 'eyJ00000.0.': None}`` keeping one)."""
        first, second = "AKIAIOSFODNN7EXAMPLE", f"Bearer {SECRET}"
        track("api_call", **{first: 1, second: 2, "method": "GET"})
        track("api_call", **{first: 3, second: 4})
        assert [e.labels for e in captured.events] == [
            {REDACTED: 1, f"{REDACTED}#2": 2, "method": "GET"}, {REDACTED: 3, f"{REDACTED}#2": 4}]
        assert_nowhere(captured, caplog, SECRET)
        assert_nowhere(captured, caplog, first)
