"""The upload page in Chromium: choose a file, see the result; a bad file shows its row/column errors."""

import pytest

from profiling.models import Measurement
from tests.measurements.conftest import own_csv

pytestmark = pytest.mark.browser


def test_upload_page_imports_and_reports_errors(logged_in_page, live_server, pair, tmp_path):
    page = logged_in_page
    good = tmp_path / "good.csv"
    good.write_bytes(own_csv("Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,0",
                             "Tiny LM (1B),Test Box,32,64,1,1.4,99.0,10.0,1"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(own_csv("Tiny LM (1B),Test Box,32,64,1,1.5,100.0,10.0,0",
                            "Tiny LM (1B),Test Box,32,lots,1,1.5,100.0,10.0,1"))

    page.goto(f"{live_server.url}/measurements/import/")
    assert page.locator("#dropzone").is_visible()
    page.set_input_files("input[type=file]", str(good))
    assert "good.csv" in page.locator("#dropzone-file").inner_text()
    page.click("#import-submit")
    page.wait_for_selector("#import-result")
    assert page.locator("#imported-rows").inner_text() == "2"
    assert "Tiny LM (1B)" in page.locator("#import-pairs").inner_text()
    assert Measurement.objects.count() == 2

    # The page swapped its content in place: the form works again without a reload.
    page.set_input_files("input[type=file]", str(bad))
    page.click("#import-submit")
    page.wait_for_selector("#import-errors")
    errors = page.locator("#import-errors").inner_text()
    assert "Nothing was imported: 1 error" in errors
    assert "output_tokens" in errors and "'lots' is not a whole number" in errors
    assert Measurement.objects.count() == 2

    # Uploading the first file again is refused, naming the batch.
    page.set_input_files("input[type=file]", str(good))
    page.click("#import-submit")
    page.wait_for_selector("#import-errors:has-text('already imported')")
    assert "already imported as batch #" in page.locator("#import-errors").inner_text()

    page.goto(f"{live_server.url}/measurements/")
    assert "2 of 2 measurements" in page.locator("main").inner_text()
    assert page.locator("#measurement-table .badge.warn").count() == 1  # the warm-up row
    # The bad file answers 400 and the duplicate 409, as the API does (Chromium logs both); nothing else may fail.
    unexpected = [e for e in page.console_log.errors() if "status of 400" not in e and "status of 409" not in e]
    assert unexpected == []


def test_drop_zone_accepts_a_dropped_file(logged_in_page, live_server, pair):
    page = logged_in_page
    page.goto(f"{live_server.url}/measurements/import/")
    csv_text = own_csv("Tiny LM (1B),Test Box,16,32,1,0.9,50.0,5.0,2").decode()
    # Chromium builds a real DataTransfer; the page's drop handler moves it into the file input.
    page.evaluate("""(text) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], "dropped.csv", {type: "text/csv"}));
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", csv_text)
    assert "dropped.csv" in page.locator("#dropzone-file").inner_text()
    page.click("#import-submit")
    page.wait_for_selector("#import-result")
    assert "dropped.csv" in page.locator("#import-result h2").inner_text()
    assert Measurement.objects.get().output_tokens == 32
