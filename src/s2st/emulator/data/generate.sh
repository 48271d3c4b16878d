#!/bin/sh
# Regenerates the synthetic scenario audio (espeak-ng 1.51 + sox). CI never runs this;
# the WAV files are committed. Usage: sh generate.sh  (from this directory)
set -eu
say() { # say VOICE RATE OUT.wav TEXT
  espeak-ng -v "$1" -s "${SPEED:-165}" -w /tmp/_s2st_say.wav "$4"
  sox /tmp/_s2st_say.wav -r "$2" -c 1 -b 16 -e signed-integer "$3" norm -3 silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse
}
# Scenario "hello": one utterance.
say en 16000 /tmp/_s2st_h.wav "Hello, and welcome to the speech translation demo. Today we will talk about the weather."
say es 24000 hello.0.es.wav "Hola, y bienvenidos a la demostración de traducción de voz. Hoy hablaremos del tiempo."
say de 24000 hello.0.de.wav "Hallo und willkommen zur Demo der Sprachübersetzung. Heute sprechen wir über das Wetter."
SPEED=230 say cmn 24000 hello.0.cmn.wav "你好，欢迎来到语音翻译演示。今天我们来谈谈天气。"
sox /tmp/_s2st_h.wav hello.en.wav pad 0.3 0.3
# Scenario "station": two utterances separated by a 1.2 s pause.
say en 16000 /tmp/_s2st_a.wav "Good morning."
say en 16000 /tmp/_s2st_b.wav "Where is the train station?"
sox /tmp/_s2st_a.wav /tmp/_s2st_a_pad.wav pad 0.3 1.2
sox /tmp/_s2st_a_pad.wav /tmp/_s2st_b.wav station.en.wav pad 0 0.3
say es 24000 station.0.es.wav "Buenos días."
say es 24000 station.1.es.wav "¿Dónde está la estación de tren?"
say de 24000 station.0.de.wav "Guten Morgen."
say de 24000 station.1.de.wav "Wo ist der Bahnhof?"
SPEED=230 say cmn 24000 station.0.cmn.wav "早上好。"
SPEED=230 say cmn 24000 station.1.cmn.wav "火车站在哪里？"
rm -f /tmp/_s2st_*.wav
