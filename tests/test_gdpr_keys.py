"""Per-controller HMAC keys: kept apart from the data, stable, destroyable for good."""

from __future__ import annotations

import stat

import pytest

from resources.keys import KeyDestroyed, KeyMissing, KeyStore, fold, name_tokens


def test_keyed_hashes_are_stable_normalised_and_per_controller(tmp_path):
    keys = KeyStore(tmp_path / "keys", data_root=tmp_path / "store")
    acme, beta = keys.hasher("acme"), keys.hasher("beta")
    h = acme.email("Zephyrine.Canarywood@Canary-Corp.fr ")
    assert h == acme.email("zephyrine.canarywood@canary-corp.fr") == KeyStore(tmp_path / "keys").hasher("acme").email(
        "<zephyrine.canarywood@canary-corp.fr>")
    assert h.startswith("h1:") and len(h) == 35
    assert beta.email("zephyrine.canarywood@canary-corp.fr") != h  # another controller's key: unlinkable
    # a name hash can never collide with an e-mail hash of the same text
    assert acme.hash("email", "x") != acme.hash("person", "x")
    assert acme.person("Zéphyrine CANARYWOOD", "canary corp") == acme.person("canarywood zephyrine", "Canary Corp")
    assert acme.person("Zéphyrine", "") is None and acme.email("not-an-address") is None
    assert "acme" in repr(acme) and keys.key("acme").hex() not in repr(acme)


def test_normalisation_helpers():
    assert fold("  Zéphyrine-Œuvray ") == "zephyrine oeuvray"
    assert name_tokens("DE LA Fontaine", "Jean-Pierre") == name_tokens("jean pierre de la fontaine")


def test_key_files_are_private_and_outside_the_store(tmp_path):
    keys = KeyStore(tmp_path / "keys", data_root=tmp_path / "store")
    keys.key("acme")
    mode = (tmp_path / "keys" / "acme.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    with pytest.raises(ValueError, match="kept apart from the data"):
        KeyStore(tmp_path / "store" / "keys", data_root=tmp_path / "store")


def test_from_env_defaults_next_to_the_store_and_refuses_inside(tmp_path):
    env = {"REFINERY_LOCAL_STORE": str(tmp_path / "store")}
    assert KeyStore.from_env(env).root == (tmp_path / "keys").resolve()
    with pytest.raises(ValueError):
        KeyStore.from_env(env | {"REFINERY_KEYS_DIR": str(tmp_path / "store" / "k")})


def test_destroying_a_key_makes_its_hashes_unlinkable(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    before = keys.hasher("acme").email("a@b.fr")
    fingerprint = keys.fingerprint("acme")
    tomb = keys.destroy("acme")
    assert tomb is not None and tomb.fingerprint == fingerprint
    assert not (tmp_path / "keys" / "acme.key").exists()
    with pytest.raises(KeyDestroyed, match="destroyed"):
        keys.hasher("acme")
    # no silent new key for an off-boarded controller (a new key would not link anyway)
    with pytest.raises(KeyDestroyed):
        keys.key("acme", create=True)
    assert keys.fingerprint("acme") == fingerprint  # certificates still say which key was used
    assert before.startswith("h1:")
    with pytest.raises(KeyMissing):
        keys.key("other", create=False)
