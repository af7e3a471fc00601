"""Bad photos as real files on disk, made here: the notebook tests bytes in memory, these go through paths and file objects."""
import io
import numpy as np
import pytest
from PIL import Image
from femverify.core import ImageError, load_image
from conftest import HOPPER


def save(path, im, fmt, **kw):
    im.save(path, fmt, **kw); return path


def test_truncated_jpeg(tmp_path):
    p = tmp_path / 'cut.jpg'; p.write_bytes(HOPPER.read_bytes()[:20_000])
    with pytest.raises(ImageError, match='truncated'): load_image(p)


def test_zero_bytes(tmp_path):
    p = tmp_path / 'empty.jpg'; p.touch()
    with pytest.raises(ImageError, match='empty'): load_image(p)


def test_text_named_jpg(tmp_path):
    p = tmp_path / 'notes.jpg'; p.write_text('this is not a photo\n')
    with pytest.raises(ImageError, match='not an image'): load_image(p)


def test_png_bomb_over_pixel_cap(tmp_path):
    # 12000 x 12000 of one colour: a few hundred KB on disk, 144 MP decoded
    p = save(tmp_path / 'bomb.png', Image.new('1', (12000, 12000)), 'PNG')
    assert p.stat().st_size < 2_000_000
    with pytest.raises(ImageError, match='too large'): load_image(p)


def test_cmyk_jpeg(tmp_path):
    p = save(tmp_path / 'cmyk.jpg', Image.open(HOPPER).convert('CMYK'), 'JPEG')
    assert Image.open(p).mode == 'CMYK'
    im = load_image(p)
    assert im.mode == 'RGB' and im.size == (512, 600)


def test_16bit_png(tmp_path):
    a = (np.linspace(0, 65535, 100 * 80).reshape(80, 100)).astype(np.uint16)
    p = save(tmp_path / 'deep.png', Image.fromarray(a), 'PNG')
    assert Image.open(p).mode.startswith('I')
    out = np.asarray(load_image(p))
    assert out.shape == (80, 100, 3) and out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


@pytest.mark.parametrize('orientation, size', [(1, (512, 600)), (3, (512, 600)), (6, (600, 512)), (8, (600, 512))])
def test_exif_rotated_jpeg_comes_back_upright(tmp_path, orientation, size):
    upright = Image.open(HOPPER).convert('RGB')
    # store the pixels rotated the way a phone does, with the EXIF tag that undoes it
    stored = {1: upright, 3: upright.rotate(180), 6: upright.rotate(90, expand=True), 8: upright.rotate(-90, expand=True)}[orientation]
    ex = Image.Exif(); ex[0x0112] = orientation
    p = save(tmp_path / f'rot{orientation}.jpg', stored, 'JPEG', exif=ex, quality=95)
    im = load_image(p)
    assert im.size == (512, 600)
    diff = np.abs(np.asarray(im, float) - np.asarray(upright, float)).mean()
    assert diff < 8, f'orientation {orientation}: mean pixel difference {diff:.1f} from the upright photo'


def test_file_object_and_modes(tmp_path):
    for mode in ('L', 'LA', 'P', 'RGBA'):
        b = io.BytesIO(); Image.open(HOPPER).convert(mode).save(b, 'PNG'); b.seek(0)
        assert load_image(b).mode == 'RGB'
