"""An independent head-pose estimate for `liveness.py`: mediapipe's face mesh (468 points in 3-D; its model ships inside
the mediapipe wheel), yaw and pitch in degrees from the mesh's own depth.

Benchmark-only, in its own environment (mediapipe pins numpy < 2 and protobuf < 5):
    python -m venv runs/mp-venv && runs/mp-venv/bin/pip install mediapipe==0.10.14 "numpy<2" opencv-python-headless pillow
    runs/mp-venv/bin/python benchmarks/peer_mediapipe_pose.py photos.txt out.json
`photos.txt` has one image path per line; `out.json` gets {path: [yaw, pitch] or null}.
Yaw > 0: the head turned to its own left (its nose towards the image's right); pitch > 0: the chin raised.
"""
import json, math, sys
import numpy as np
from PIL import Image
import mediapipe as mp


def pose(mesh) -> list:
    "Yaw and pitch (degrees) of one face mesh, from the 3-D line between the outer eye corners and from forehead to chin."
    p = np.array([[l.x, l.y, l.z] for l in mesh.landmark])
    eye = p[263] - p[33]  # the image-right eye's outer corner minus the image-left one's
    up = p[10] - p[152]  # forehead minus chin (y grows downwards; z grows away from the camera: a raised chin comes closer)
    return [math.degrees(math.atan2(eye[2], eye[0])), math.degrees(math.atan2(up[2], -up[1]))]


def main(listing, out):
    paths = [l.strip() for l in open(listing) if l.strip()]
    res = {}
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as fm:
        for p in paths:
            r = fm.process(np.asarray(Image.open(p).convert('RGB')))
            res[p] = pose(r.multi_face_landmarks[0]) if r.multi_face_landmarks else None
    json.dump(dict(model=f'mediapipe {mp.__version__} face_mesh (face_landmark.tflite)', poses=res), open(out, 'w'))


if __name__ == '__main__':
    main(*sys.argv[1:3])
