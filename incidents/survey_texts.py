"""What the customer reads of a satisfaction survey (the invitation and the survey page) in each language
it is offered in, and how the language is chosen: from a mention's language tag, else English."""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import SurveyLanguage


@dataclass(frozen=True)
class SurveyTexts:
    page_title: str
    heading: str
    intro: str
    rating_legend: str
    # 1 to 5, worst first
    rating_labels: tuple[str, str, str, str, str]
    comment_label: str
    optional: str
    comment_help: str
    submit: str
    once_note: str
    error_title: str
    error_rating: str
    error_comment: str
    thanks_title: str
    thanks_body: str
    answered_title: str
    answered_body: str
    expired_title: str
    expired_body: str
    missing_title: str
    missing_body: str
    # "{url}" is replaced by the survey's link
    invitation: str


SURVEY_TEXTS: dict[str, SurveyTexts] = {
    SurveyLanguage.ENGLISH: SurveyTexts(
        page_title="Customer satisfaction survey",
        heading="How did we do?",
        intro="You contacted us recently. How satisfied are you with the help you received?",
        rating_legend="Your rating",
        rating_labels=("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"),
        comment_label="Anything you would like to tell us?",
        optional="optional",
        comment_help="Up to 2,000 characters.",
        submit="Send my answer",
        once_note="This link can be used once.",
        error_title="Your answer was not sent.",
        error_rating="Please choose a rating from 1 to 5.",
        error_comment="Please shorten your comment to 2,000 characters or fewer.",
        thanks_title="Thank you!",
        thanks_body="We have received your answer. Your feedback helps us do better.",
        answered_title="Already answered",
        answered_body="This survey has already been answered. Thank you for your feedback!",
        expired_title="This survey has closed",
        expired_body="The link has expired, so we can no longer take answers. Thank you all the same.",
        missing_title="This link does not work",
        missing_body="We could not find this survey. Please check that you opened the whole link.",
        invitation=(
            "Thank you for your patience. How did we do? Please rate our help, it takes a minute: {url}"
        ),
    ),
    SurveyLanguage.SWEDISH: SurveyTexts(
        page_title="Kundnöjdhetsenkät",
        heading="Hur nöjd är du?",
        intro="Du kontaktade oss nyligen. Hur nöjd är du med hjälpen du fick?",
        rating_legend="Ditt betyg",
        rating_labels=("Mycket missnöjd", "Missnöjd", "Varken eller", "Nöjd", "Mycket nöjd"),
        comment_label="Vill du berätta något mer för oss?",
        optional="valfritt",
        comment_help="Högst 2 000 tecken.",
        submit="Skicka mitt svar",
        once_note="Länken kan bara användas en gång.",
        error_title="Ditt svar skickades inte.",
        error_rating="Välj ett betyg från 1 till 5.",
        error_comment="Korta ner din kommentar till högst 2 000 tecken.",
        thanks_title="Tack!",
        thanks_body="Vi har tagit emot ditt svar. Dina synpunkter hjälper oss att bli bättre.",
        answered_title="Redan besvarad",
        answered_body="Den här enkäten har redan besvarats. Tack för dina synpunkter!",
        expired_title="Enkäten är stängd",
        expired_body="Länken har gått ut, så vi kan inte längre ta emot svar. Tack ändå.",
        missing_title="Länken fungerar inte",
        missing_body="Vi hittade inte enkäten. Kontrollera att du öppnade hela länken.",
        invitation=(
            "Tack för ditt tålamod. Hur nöjd är du med vår hjälp? Svara gärna på en kort enkät, "
            "det tar en minut: {url}"
        ),
    ),
    SurveyLanguage.CROATIAN: SurveyTexts(
        page_title="Anketa o zadovoljstvu korisnika",
        heading="Koliko ste zadovoljni?",
        intro="Nedavno ste nam se obratili. Koliko ste zadovoljni pomoći koju ste dobili?",
        rating_legend="Vaša ocjena",
        rating_labels=("Vrlo nezadovoljni", "Nezadovoljni", "Neutralno", "Zadovoljni", "Vrlo zadovoljni"),
        comment_label="Želite li nam još nešto reći?",
        optional="nije obavezno",
        comment_help="Najviše 2000 znakova.",
        submit="Pošalji odgovor",
        once_note="Poveznica se može upotrijebiti samo jednom.",
        error_title="Vaš odgovor nije poslan.",
        error_rating="Odaberite ocjenu od 1 do 5.",
        error_comment="Skratite komentar na najviše 2000 znakova.",
        thanks_title="Hvala vam!",
        thanks_body="Primili smo vaš odgovor. Vaše mišljenje pomaže nam da budemo bolji.",
        answered_title="Već ste odgovorili",
        answered_body="Na ovu anketu već je odgovoreno. Hvala vam na povratnoj informaciji!",
        expired_title="Anketa je zatvorena",
        expired_body="Poveznica je istekla pa više ne primamo odgovore. Svejedno vam hvala.",
        missing_title="Poveznica ne radi",
        missing_body="Nismo pronašli ovu anketu. Provjerite jeste li otvorili cijelu poveznicu.",
        invitation=(
            "Hvala vam na strpljenju. Koliko ste zadovoljni našom pomoći? Ocijenite nas u kratkoj anketi, "
            "traje minutu: {url}"
        ),
    ),
}


def language_of(tag: str) -> str | None:
    """The survey language a language tag names ("sv", "hr", "en-GB", "sv_SE"), or None."""
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in SurveyLanguage.values else None


def language_or_english(tag: str) -> str:
    return language_of(tag) or SurveyLanguage.ENGLISH


def language_from_accept(header: str) -> str:
    """The browser's most preferred survey language (Accept-Language), else English: for a page that has
    no survey to take the language from."""
    preferences = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0:  # q=0 means "not this one"
            preferences.append((-quality, position, tag))
    for _quality, _position, tag in sorted(preferences):
        language = language_of(tag)
        if language is not None:
            return language
    return SurveyLanguage.ENGLISH
