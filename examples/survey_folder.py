"""The survey's augmentation example on a folder of photos, in zenlearn:

    ImageDataGenerator(rotation_range=45, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
                       zoom_range=0.2, horizontal_flip=True, fill_mode='nearest')
    datagen.flow_from_directory(path, target_size=(224, 224), batch_size=32, class_mode='binary')

trained with a small CNN (three conv stages of stride 2 + max-pool, 16 / 32 / 64 channels, a 64-unit dense
layer). Photos are decoded once at 224 x 224 into the decoded cache (`--cache auto`); later epochs and
later runs read it and only augment. The same run from the shell:

    zenlearn train --data folder:runs/photos --image-size 224,224 --batch-size 32 --class-mode binary \\
        --augment "rotation_range=45,width_shift_range=0.2,height_shift_range=0.2,shear_range=0.2,zoom_range=0.2,horizontal_flip=true,fill_mode=nearest" \\
        --model cnn --channels 16,32,64 --stride 2 --hidden 64 --epochs 5

    python benchmarks/make_photo_folder.py runs/photos      # 2 x 1,000 photos (needs scikit-image)
    python examples/survey_folder.py runs/photos            # about 98 % validation accuracy after 3 epochs
    python examples/survey_folder.py runs/photos --epochs 1 --out /tmp/photos
"""

import argparse

from zenlearn import TrainConfig, train_run

SURVEY_AUGMENT = ("rotation_range=45,width_shift_range=0.2,height_shift_range=0.2,shear_range=0.2,"
                  "zoom_range=0.2,horizontal_flip=true,fill_mode=nearest")

p = argparse.ArgumentParser(description="The survey's augmentation example on a folder of photos.")
p.add_argument("folder", nargs="?", default="runs/photos", help="class-per-folder photos [default: runs/photos]")
p.add_argument("--epochs", type=int, default=5)
p.add_argument("--cache", default="auto", choices=["auto", "memory", "disk", "off"])
p.add_argument("--out", default="runs/survey-folder")
args = p.parse_args()

config = TrainConfig(data=f"folder:{args.folder}", image_size=(224, 224), batch_size=32, class_mode="binary",
                     augment=SURVEY_AUGMENT, model="cnn", channels=(16, 32, 64), stride=2, hidden=(64,),
                     optimizer="adam", epochs=args.epochs, cache=args.cache, out=args.out, overwrite=True)
summary = train_run(config)
print(f"validation accuracy {summary['val']['accuracy']:.4f}  run folder {summary['out']}")
