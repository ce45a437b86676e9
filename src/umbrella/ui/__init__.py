"""The page kit: page and form building blocks, charts, uploads and command-line helpers the apps' pages stand on."""
