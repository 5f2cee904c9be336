"""The catalog on both backends (the `backend` fixture): round trips, idempotent upserts, newer
wins, all-or-nothing batches."""

from __future__ import annotations

import pytest
from test_builder import make

from roku_feed.articles import article_to_dict, item_id, parse_article
from roku_feed.catalog import Catalog
from roku_feed.errors import ArticleConflictError, ArticleInvalidError


def test_article_round_trips_through_its_dict() -> None:
    article = make(
        1,
        featured=True,
        language="fa",
        updated="2026-11-21T10:00:00+03:30",
        captions=[{"url": "https://m.example/c.vtt", "language": "en", "type": "CLOSED_CAPTION"}],
        video={
            "url": "https://m.example/v.mp4",
            "type": "MP4",
            "quality": "FHD",
            "duration": 61,
            "bitrate": 2500,
        },
    )
    assert parse_article(article_to_dict(article), article.source) == article


def test_upsert_is_idempotent_and_persists(backend) -> None:
    catalog = backend.open_catalog()
    articles = [make(n) for n in range(5)]
    assert len(catalog.upsert(articles)) == 5
    assert catalog.upsert(articles) == []  # the same content again changes nothing
    reopened = backend.open_catalog()
    assert sorted(a.title for a in reopened.articles()) == sorted(a.title for a in articles)
    assert len(reopened) == 5 and reopened.ids() == {item_id(a) for a in articles}


def test_newer_change_wins_and_older_is_ignored(backend) -> None:
    catalog = backend.open_catalog()
    newer = make(1, id="story", title="Corrected", updated="2026-11-22T00:00:00+00:00")
    older = make(1, id="story", title="First draft", updated="2026-11-21T00:00:00+00:00")
    catalog.upsert([newer])
    assert catalog.upsert([older]) == []
    assert [a.title for a in catalog.articles()] == ["Corrected"]


def test_a_batch_with_one_bad_article_stores_nothing(backend) -> None:
    catalog = backend.open_catalog()
    with pytest.raises(ArticleInvalidError, match="no id, url or guid"):
        catalog.upsert([make(1), make(2, url=None)])
    assert len(catalog) == 0


def test_delete(backend) -> None:
    catalog = backend.open_catalog()
    catalog.upsert([make(1), make(2)])
    assert catalog.delete(item_id(make(1))) is True
    assert catalog.delete(item_id(make(1))) is False
    assert [a.title for a in catalog.articles()] == ["Story number 2"]


def test_unchanged_rows_give_the_same_article_objects(backend) -> None:
    reader, writer = backend.open_catalog(), backend.open_catalog()
    writer.upsert([make(n) for n in range(4)])
    first = {item_id(a): a for a in reader.articles()}
    edited = make(2, title="Story number 2, corrected", updated="2026-11-25T00:00:00+00:00")
    writer.upsert([edited, make(9)])
    writer.delete(item_id(make(3)))
    second = {item_id(a): a for a in reader.articles()}
    assert list(second) == sorted(item_id(make(n)) for n in (0, 1, 2, 9))
    assert all(second[item_id(make(n))] is first[item_id(make(n))] for n in (0, 1))
    assert second[item_id(edited)] == edited and second[item_id(edited)] is not first[item_id(edited)]
    third = {item_id(a): a for a in reader.articles()}
    assert all(third[ident] is second[ident] for ident in second)  # the edited one is cached in turn


def test_on_the_same_time_a_pushed_copy_beats_a_file_copy_and_a_later_push_beats_both(backend) -> None:
    catalog = backend.open_catalog()
    same = {"id": "story", "updated": "2026-11-22T00:00:00+00:00"}
    catalog.upsert([make(1, title="From the file", **same)])
    assert catalog.upsert([make(1, title="Pushed edit", **same)], pushed=True) == ["story"]
    assert catalog.upsert([make(1, title="From the file", **same)]) == []  # a rescan or restart
    assert catalog.upsert([make(1, title="Pushed again", **same)], pushed=True) == ["story"]
    assert [a.title for a in catalog.articles()] == ["Pushed again"]
    later = make(1, title="Edited in the file", id="story", updated="2026-11-23T00:00:00+00:00")
    assert catalog.upsert([later]) == ["story"]
    assert [a.title for a in catalog.articles()] == ["Edited in the file"]


def test_an_older_push_is_refused_whole_naming_the_stored_time(backend) -> None:
    catalog = backend.open_catalog()
    catalog.upsert([make(1, id="story", title="Stored", updated="2026-11-22T00:00:00+00:00")])
    batch = [make(2, id="other"), make(1, id="story", title="Old", updated="2026-11-21T00:00:00+00:00")]
    with pytest.raises(ArticleConflictError) as caught:
        catalog.upsert(batch, pushed=True)
    assert caught.value.extra["conflicts"] == [
        {
            "index": 1,
            "id": "story",
            "changed": "2026-11-21T00:00:00+00:00",
            "stored_changed": "2026-11-22T00:00:00+00:00",
        }
    ]
    assert catalog.ids() == {"story"} and [a.title for a in catalog.articles()] == ["Stored"]


def test_a_catalog_from_before_the_pushed_column_is_upgraded_in_place(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE articles (id TEXT PRIMARY KEY, changed REAL NOT NULL,"
            " source TEXT NOT NULL, data TEXT NOT NULL)"
        )
    catalog = Catalog(path)
    assert catalog.upsert([make(1, id="story")], pushed=True) == ["story"]
    assert Catalog(path).ids() == {"story"}
