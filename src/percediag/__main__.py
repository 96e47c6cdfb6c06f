from percediag.cli import main

main()
