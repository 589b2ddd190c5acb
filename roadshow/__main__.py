from roadshow.cli import main

main()
