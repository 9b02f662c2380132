"""Name normalisation (reddit_crawler.names) and the crawl plan (reddit_crawler.plan)."""

from __future__ import annotations

import re

import pytest
from scrapy.settings import Settings

from reddit_crawler.errors import ConfigError
from reddit_crawler.names import (
    ABSENT_AUTHORS,
    InvalidName,
    dedupe_names,
    is_crawlable_user,
    is_profile_subreddit,
    is_valid_subreddit,
    normalize_subreddit,
    parse_subreddit_lines,
    parse_subreddit_list,
)
from reddit_crawler.plan import INT_ARGS, MAX_DEPTH, CrawlPlan, PlanError, build_plan

NEWLINE_BUG = (
    "BUG names.py SUBREDDIT_RE/USER_RE: '$' also matches before a trailing newline, so "
    "names ending in '\\n' are accepted (use re.fullmatch or '\\Z')"
)

# -- names ---------------------------------------------------------------------------------


class TestNormalizeSubreddit:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("python", "python"),
            ("r/python", "python"),
            ("/r/python/", "python"),
            ("https://www.reddit.com/r/python/", "python"),
            ("https://old.reddit.com/r/Python", "Python"),
            ("http://reddit.com/r/python", "python"),
            ("https://www.reddit.com/r/python/?sort=new", "python"),
            ("https://www.reddit.com/r/python/#top", "python"),
            ("  python  ", "python"),
            ("\tr/python/\n", "python"),
            ("R/Python", "Python"),
            ("r//python", "python"),
            ("TidepoolKeepers", "TidepoolKeepers"),
            ("ab", "ab"),
            ("a" * 21, "a" * 21),
            ("9gag_fans", "9gag_fans"),
            ("tide_pools_", "tide_pools_"),
        ],
    )
    def test_accepted(self, raw, expected):
        assert normalize_subreddit(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "r/",
            "/r/",
            "/",
            "my sub",
            "r/my sub",
            "a",
            "r/a",
            "a" * 22,
            "_python",
            "r/_python",
            "python!",
            "pyth-on",
            "pythön",
            "r/python/comments/abc123/title",
            "https://www.reddit.com/user/anemone_fan",
            "https://www.reddit.com/",
            "u/anemone_fan",
            "../python",
            "python%2F..",
            "reddit.com/r/python",
        ],
    )
    def test_rejected(self, raw):
        with pytest.raises(InvalidName, match=re.escape(repr(raw))):
            normalize_subreddit(raw)

    def test_invalid_name_is_a_value_error(self):
        assert issubclass(InvalidName, ValueError)

    @pytest.mark.parametrize("raw", ["python\n/", "r/python\n/"])
    def test_trailing_newline_rejected(self, raw):
        with pytest.raises(InvalidName):
            normalize_subreddit(raw)


class TestNameChecks:
    @pytest.mark.parametrize(
        ("name", "valid"),
        [
            ("python", True),
            ("TidepoolKeepers", True),
            ("u_anemone_fan", True),
            ("r/python", False),
            ("", False),
            (None, False),
            (42, False),
            ("a" * 22, False),
        ],
    )
    def test_is_valid_subreddit(self, name, valid):
        assert is_valid_subreddit(name) is valid

    @pytest.mark.parametrize(
        ("name", "sub_type", "profile"),
        [
            ("u_anemone_fan", None, True),
            ("U_Anemone_Fan", "public", True),
            ("ReefAquaria", "user", True),
            ("ReefAquaria", "public", False),
            ("users_unite", None, False),
        ],
    )
    def test_is_profile_subreddit(self, name, sub_type, profile):
        assert is_profile_subreddit(name, sub_type) is profile

    @pytest.mark.parametrize(
        ("name", "ok"),
        [
            ("anemone_fan", True),
            ("Nudibranch-Nora", True),
            ("a", True),
            ("a" * 20, True),
            ("a" * 21, False),
            ("[deleted]", False),
            ("[removed]", False),
            ("has space", False),
            ("../admin", False),
            ("name?x=1", False),
            ("", False),
            (None, False),
            (7, False),
        ],
    )
    def test_is_crawlable_user(self, name, ok):
        assert is_crawlable_user(name) is ok

    def test_absent_authors(self):
        assert frozenset({"[deleted]", "[removed]"}) == ABSENT_AUTHORS

    def test_trailing_newline_is_not_valid(self):
        assert not is_valid_subreddit("python\n")
        assert not is_crawlable_user("anemone_fan\n")


class TestDedupe:
    def test_case_insensitive_first_kept(self):
        names = ["Python", "python", "rust", "PYTHON", "Rust", "golang"]
        assert dedupe_names(names) == ["Python", "rust", "golang"]

    def test_empty_and_generator(self):
        assert dedupe_names([]) == []
        assert dedupe_names(n for n in ("a1", "A1")) == ["a1"]


class TestParseLists:
    def test_comma_list(self):
        raw = "python, r/rust ,,https://www.reddit.com/r/golang/ , /r/Haskell/"
        assert parse_subreddit_list(raw) == ["python", "rust", "golang", "Haskell"]

    def test_comma_list_keeps_duplicates_for_dedupe_later(self):
        assert parse_subreddit_list("python,Python") == ["python", "Python"]

    @pytest.mark.parametrize("raw", ["", " ", ",", " , ,"])
    def test_empty_comma_list(self, raw):
        assert parse_subreddit_list(raw) == []

    def test_comma_list_bad_name(self):
        with pytest.raises(InvalidName, match="' bad name '"):
            parse_subreddit_list("python, bad name ,rust")

    def test_lines(self):
        text = (
            "# seeds for the tide-pool crawl\n"
            "\n"
            "TidepoolKeepers\n"
            "   r/ReefAquaria   # the big one\n"
            "\t\n"
            "#Nudibranchs (disabled)\n"
            "https://old.reddit.com/r/KelpForests/#about\n"
            "/r/BeachCombing/\r\n"
            "   # indented comment\n"
        )
        assert parse_subreddit_lines(text) == [
            "TidepoolKeepers",
            "ReefAquaria",
            "KelpForests",
            "BeachCombing",
        ]

    @pytest.mark.parametrize("text", ["", "\n\n", "# nothing\n  # here\n"])
    def test_lines_without_names(self, text):
        assert parse_subreddit_lines(text) == []

    def test_lines_bad_name(self):
        with pytest.raises(InvalidName, match="'not valid!'"):
            parse_subreddit_lines("python\nnot valid!  # oops\n")


# -- plan ----------------------------------------------------------------------------------


#: The documented defaults of the int arguments.
DEFAULTS = {
    "users_per_sub": 25,
    "depth": 0,
    "max_subs": 1000,
    "hot": 30,
    "top_week": 10,
    "top_year": 100,
    "user_posts": 30,
}
#: Every int argument with a value of its own (so that a mix-up shows): given -> parsed.
EVERY_INT_ARG = {
    "users_per_sub": ("3", 3),
    "depth": (" 2 ", 2),
    "max_subs": (40, 40),
    "hot": ("0", 0),
    "top_week": ("1000", 1000),
    "top_year": ("7", 7),
    "user_posts": ("8", 8),
}


def plan(args: dict | None = None, settings: dict | None = None, **kwargs) -> CrawlPlan:
    return build_plan(args or {}, Settings(settings or {}), **kwargs)


class TestBuildPlanDefaults:
    def test_defaults(self):
        assert plan({"subs": "python"}) == CrawlPlan(seeds=["python"], **DEFAULTS)

    def test_defaults_match_int_args(self):
        result = plan({"subs": "python"}).as_dict()
        assert result.pop("seeds") == ["python"]
        assert result == {arg: default for arg, (default, _, _) in INT_ARGS.items()}

    @pytest.mark.parametrize("source", ["arguments", "settings"])
    def test_every_argument(self, tmp_path, source):
        # Each argument's setting is REDDIT_<ARGUMENT>; subs and subs_file are merged.
        path = tmp_path / "seeds.txt"
        path.write_text("Nudibranchs\n", "utf-8")
        given = {"subs": "TidepoolKeepers", "subs_file": str(path)}
        given.update({arg: raw for arg, (raw, _) in EVERY_INT_ARG.items()})
        if source == "settings":
            result = plan(settings={f"REDDIT_{key.upper()}": value for key, value in given.items()})
        else:
            result = plan(given)
        parsed = {arg: value for arg, (_, value) in EVERY_INT_ARG.items()}
        assert result == CrawlPlan(seeds=["TidepoolKeepers", "Nudibranchs"], **parsed)

    @pytest.mark.parametrize("arg", list(INT_ARGS))
    def test_bounds_accepted(self, arg):
        _, low, high = INT_ARGS[arg]
        assert getattr(plan({"subs": "python", arg: str(low)}), arg) == low
        assert getattr(plan({"subs": "python", arg: str(high)}), arg) == high

    def test_empty_argument_means_default(self):
        assert plan({"subs": "python", "depth": "", "hot": None}).depth == 0


class TestBuildPlanErrors:
    @pytest.mark.parametrize("arg", list(INT_ARGS))
    @pytest.mark.parametrize("raw", ["two", "1.5", "3e2", "0x10", "-", "5 apples"])
    def test_not_a_whole_number(self, arg, raw):
        with pytest.raises(PlanError) as info:
            plan({"subs": "python", arg: raw})
        assert str(info.value) == f"{arg} must be a whole number, got {raw!r}"

    @pytest.mark.parametrize("arg", list(INT_ARGS))
    def test_out_of_range(self, arg):
        _, low, high = INT_ARGS[arg]
        for value in (low - 1, high + 1):
            with pytest.raises(PlanError) as info:
                plan({"subs": "python", arg: str(value)})
            assert str(info.value) == f"{arg} must be between {low} and {high}, got {value}"

    @pytest.mark.parametrize("depth", ["-1", str(MAX_DEPTH + 1), "99"])
    def test_depth_out_of_range(self, depth):
        with pytest.raises(PlanError, match=f"^depth must be between 0 and {MAX_DEPTH}, got"):
            plan({"subs": "python", "depth": depth})

    @pytest.mark.parametrize("args", [{}, {"subs": ""}, {"subs": " , "}, {"subs": []}])
    def test_missing_subs(self, args):
        with pytest.raises(PlanError, match=r"^no subreddits to crawl"):
            plan(args)

    def test_missing_subs_allowed(self):
        assert plan({}, require_seeds=False).seeds == []

    def test_bad_subreddit_name(self):
        with pytest.raises(PlanError) as info:
            plan({"subs": "python,my sub"})
        assert str(info.value) == "invalid subreddit name: 'my sub'"

    def test_errors_are_config_errors_with_one_line(self):
        assert issubclass(PlanError, ConfigError)
        with pytest.raises(ConfigError) as info:
            plan({"subs": "python", "depth": "deep\nand wide"})
        assert "depth" in str(info.value)
        assert "\n" not in str(info.value)


class TestSubsFile:
    def test_file(self, tmp_path):
        path = tmp_path / "seeds.txt"
        path.write_text("# tide pools\n\nTidepoolKeepers\nr/ReefAquaria # reefs\n", "utf-8")
        assert plan({"subs_file": str(path)}).seeds == ["TidepoolKeepers", "ReefAquaria"]

    def test_subs_and_file_are_merged_and_deduped(self, tmp_path):
        path = tmp_path / "seeds.txt"
        path.write_text("reefaquaria\nNudibranchs\ntidepoolkeepers\n", "utf-8")
        result = plan({"subs": "TidepoolKeepers,ReefAquaria", "subs_file": str(path)})
        assert result.seeds == ["TidepoolKeepers", "ReefAquaria", "Nudibranchs"]

    def test_seeds_capped_by_max_subs(self, tmp_path):
        path = tmp_path / "seeds.txt"
        path.write_text("".join(f"sub{i:03d}\n" for i in range(20)), "utf-8")
        result = plan({"subs_file": str(path), "max_subs": "5"})
        assert result.seeds == ["sub000", "sub001", "sub002", "sub003", "sub004"]

    def test_missing_file(self, tmp_path):
        path = tmp_path / "nope.txt"
        with pytest.raises(PlanError) as info:
            plan({"subs_file": str(path)})
        assert str(info.value) == f"subs_file not found: {path}"

    def test_directory(self, tmp_path):
        with pytest.raises(PlanError, match=r"^subs_file not found: "):
            plan({"subs_file": str(tmp_path)})

    @pytest.mark.parametrize("text", ["", "\n\n", "# only\n# comments\n"])
    def test_empty_file(self, tmp_path, text):
        path = tmp_path / "seeds.txt"
        path.write_text(text, "utf-8")
        with pytest.raises(PlanError) as info:
            plan({"subs_file": str(path)})
        assert str(info.value) == f"subs_file has no subreddit names: {path}"

    def test_empty_file_with_subs_still_fails(self, tmp_path):
        path = tmp_path / "seeds.txt"
        path.write_text("# nothing\n", "utf-8")
        with pytest.raises(PlanError, match="has no subreddit names"):
            plan({"subs": "python", "subs_file": str(path)})

    def test_bad_name_in_file(self, tmp_path):
        path = tmp_path / "seeds.txt"
        path.write_text("python\n_hidden\n", "utf-8")
        with pytest.raises(PlanError) as info:
            plan({"subs_file": str(path)})
        assert str(info.value) == "invalid subreddit name: '_hidden'"

    def test_not_utf8(self, tmp_path):
        path = tmp_path / "seeds.txt"
        path.write_bytes(b"python\n\xff\xfe\n")
        with pytest.raises(PlanError, match=f"^subs_file unreadable: {re.escape(str(path))}"):
            plan({"subs_file": str(path)})


class TestSettingsFallback:
    def test_argument_wins_over_setting(self):
        result = plan(
            {"subs": "python", "depth": "1", "hot": "3"},
            {"REDDIT_SUBS": "rust", "REDDIT_DEPTH": "4", "REDDIT_HOT": "9"},
        )
        assert (result.seeds, result.depth, result.hot) == (["python"], 1, 3)

    def test_empty_argument_falls_back_to_setting(self):
        result = plan({"subs": "", "depth": ""}, {"REDDIT_SUBS": "rust", "REDDIT_DEPTH": "4"})
        assert (result.seeds, result.depth) == (["rust"], 4)

    def test_subs_setting_as_list(self):
        settings = {"REDDIT_SUBS": ["python", "r/rust", "Python"]}
        assert plan(settings=settings).seeds == ["python", "rust"]

    def test_bad_setting_named_like_the_argument(self):
        with pytest.raises(PlanError) as info:
            plan({"subs": "python"}, {"REDDIT_DEPTH": "deep"})
        assert str(info.value) == "depth must be a whole number, got 'deep'"

    def test_settings_object_priority(self):
        settings = Settings({"REDDIT_DEPTH": "1"})
        settings.set("REDDIT_DEPTH", "3", priority="cmdline")
        assert build_plan({"subs": "python"}, settings).depth == 3

    def test_unrelated_settings_ignored(self):
        result = plan({"subs": "python"}, {"DEPTH_LIMIT": 5, "REDDIT_DEPTH_LIMIT": 9})
        assert result.depth == 0
