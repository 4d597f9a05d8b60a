from wearforge.cli import main

main()
