"""A number written in E.164 (`+14155550101`, as `import` writes numbers) is read without
`phonenumbers.parse`: it must be read exactly as `parse` reads it, for every country, or be
left to `parse`. A new release of phonenumbers that reads numbers differently fails here."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.core.jid import _is_valid, _written_e164, parse_phone
from reconciler.errors import InvalidJidError

COUNTRIES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
TYPES = [value for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()]


def examples() -> list[str]:
    """Every country's example numbers of every type, in E.164."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    for country in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(country)
        if number is not None:
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


def miswritten(numbers: list[str]) -> list[str]:
    """Each number with a trunk 0, a 1 or an 8 written after its country code (the national
    prefixes people keep by mistake), which parse may take out again."""
    wrong = []
    for e164 in numbers:
        country = str(phonenumbers.parse(e164).country_code)
        rest = e164[1 + len(country) :]
        wrong += [f"+{country}{prefix}{rest}" for prefix in "018"]
    return wrong


def spaced(numbers: list[str], apart: str = " -") -> list[str]:
    """Each number as people write it: phonenumbers' own international format, and its
    digits apart at random by the characters of `apart` (and not)."""
    chosen = random.Random(13)
    written = []
    for e164 in numbers:
        number = phonenumbers.parse(e164)
        written.append(
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        )
        gaps = ["", "", *apart]
        digits = "".join(digit + chosen.choice(gaps) for digit in e164[1:])
        written.append("+" + digits.rstrip(apart))
    return written


def scattered(count: int) -> list[str]:
    """Digits after each country code at random: mostly invalid numbers, of every length."""
    chosen = random.Random(14)
    numbers = []
    for country in COUNTRIES:
        for _ in range(count):
            length = chosen.randint(8, 15) - len(str(country))
            digits = "".join(chosen.choice("0123456789") for _ in range(length))
            numbers.append(f"+{country}{digits}")
    return numbers


def read_otherwise(numbers: list[str]) -> list[str]:
    """The numbers the E.164 path reads, but not as phonenumbers.parse does."""
    return [text for text in numbers if not read_alike(text)]


def read_alike(text: str) -> bool:
    number = _written_e164(text)
    if number is None:
        return True  # left to parse
    try:
        return bool(number == phonenumbers.parse(text))
    except phonenumbers.NumberParseException:
        return False


def test_a_number_in_e164_is_read_as_phonenumbers_parse_reads_it() -> None:
    numbers = examples()
    texts = numbers + miswritten(numbers) + scattered(30)
    written = spaced(texts) + spaced(texts, apart=" -./()\t") + spaced(texts, apart="  --")
    assert read_otherwise(texts + written) == []


def test_the_e164_path_reads_most_valid_numbers() -> None:
    """It must not leave everything to parse: the world's example numbers mostly go by it
    (not those that start with a zero or with what may be a national prefix)."""
    numbers = examples() + spaced(examples())
    assert sum(_written_e164(text) is not None for text in numbers) > 0.8 * len(numbers)


@given(st.sampled_from(COUNTRIES), st.text("0123456789", min_size=4, max_size=14))
def test_any_digits_after_a_country_code_are_read_as_parse_reads_them(
    country: int, digits: str
) -> None:
    assert read_otherwise([f"+{country}{digits}"]) == []


def test_an_e164_number_gets_the_answers_it_got_before() -> None:
    """Valid, or refused with the same words: the check that follows reading is the same."""
    assert parse_phone("+14155550101") == "14155550101@s.whatsapp.net"
    with pytest.raises(InvalidJidError, match=r"'\+19995550101' is not a valid phone number in"):
        parse_phone("+19995550101")
    with pytest.raises(InvalidJidError, match=r"not a valid phone number \(too long\)"):
        parse_phone("+141555501019999")


def test_a_number_is_judged_valid_as_phonenumbers_judges_it() -> None:
    """Checked once against the region it is of, not twice: the same verdict, for numbers
    of every country code, shared by several regions or not."""
    numbers = examples()
    texts = numbers + miswritten(numbers) + scattered(30)
    parsed = [phonenumbers.parse(text) for text in texts]
    judged_otherwise = [
        text
        for text, number in zip(texts, parsed, strict=True)
        if _is_valid(number) != phonenumbers.is_valid_number(number)
    ]
    assert judged_otherwise == []
    assert sum(map(phonenumbers.is_valid_number, parsed)) > len(numbers) / 2


@settings(max_examples=2000)
@given(st.sampled_from(COUNTRIES), st.integers(min_value=1, max_value=10**14), st.booleans())
def test_any_number_is_judged_valid_as_phonenumbers_judges_it(
    country: int, national: int, leading_zero: bool
) -> None:
    """Each region's kinds of numbers checked the most common first, and each pattern
    compiled once: still the verdict `is_valid_number` gives, for any digits (most are
    invalid), with Italy's leading zero or without."""
    number = phonenumbers.PhoneNumber(
        country_code=country, national_number=national, italian_leading_zero=leading_zero or None
    )
    assert _is_valid(number) == phonenumbers.is_valid_number(number)
