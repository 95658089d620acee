"""An operator's mistakes give one line and exit status 2, never a traceback (README, "Exit status")."""

import pytest
from scrapy.settings import Settings

from crawler.usage import UsageMistake, check_settings
from tests.helpers import run_scrapy


@pytest.mark.crawl  # scrapy subprocesses
@pytest.mark.parametrize(("args", "line"), [
    (["nosuch"], "Unknown spider 'nosuch': the spiders are huengaynay, lecourrier, news, nhandan, sggp, "
                 "vietnamplus, vietnamvn (scrapy list)"),
    (["vietnamplus", "-a", "bogus=1"], "-a bogus: Extra inputs are not permitted (README, Spider arguments)"),
    (["vietnamplus", "-a", "since=yesterday"], "-a since: Input should be a valid date or datetime"),
    (["vietnamplus", "-s", "EXTRACTION_WORKERS=abc"], "Setting EXTRACTION_WORKERS='abc': must be a number"),
    (["vietnamplus", "-s", "ROBOTSTXT_OBEY=maybe"], "Setting ROBOTSTXT_OBEY='maybe': must be true or false"),
], ids=["unknown-spider", "unknown-argument", "bad-argument-value", "bad-number-setting", "bad-flag-setting"])
def test_a_mistake_on_the_command_line_is_one_line_and_status_2(tmp_path, args, line):
    result = run_scrapy(["crawl", *args, "-s", f"ARCHIVE_URI={tmp_path / 'archive'}"])
    errors = [entry for entry in result.stderr.splitlines() if " ERROR: " in entry]
    assert result.returncode == 2
    assert len(errors) == 1 and line in errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "archive").exists()  # nothing was started


def test_settings_given_as_text_read_as_their_defaults_types():
    check_settings(Settings({"EXTRACTION_WORKERS": "3", "MAX_ERROR_RATE": "0.2", "ROBOTSTXT_OBEY": "False"}))


def test_a_setting_whose_default_is_a_whole_number_may_take_a_fraction():
    check_settings(Settings({"DOWNLOAD_DELAY": "0.3"}))  # Scrapy's default is the integer 0


def test_a_setting_of_the_wrong_type_names_itself():
    with pytest.raises(UsageMistake, match=r"^Setting MAX_ERROR_RATE='lots': must be a number"):
        check_settings(Settings({"MAX_ERROR_RATE": "lots"}))


def test_typed_values_from_the_project_settings_are_not_read_again():
    check_settings(Settings({"DOWNLOAD_DELAY": 0.25, "CONCURRENT_REQUESTS": 16}))
