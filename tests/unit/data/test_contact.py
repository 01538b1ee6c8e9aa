import numpy as np

from hubscout.data.contact import LABEL_WIDTH, contact_sheet, per_class_samples


def test_contact_sheet_has_one_row_per_class():
    images = np.zeros((12, 32, 32, 3), np.uint8)
    labels = np.repeat([0, 1, 2], 4)
    rows = per_class_samples(images, labels, 3, per_class=3)
    assert [len(r) for r in rows] == [3, 3, 3]
    sheet = contact_sheet(rows, ["a", "b", "c"], scale=2)
    assert sheet.size == (LABEL_WIDTH + 3 * 66, 3 * 66)
