namespace PerfLab.Lab; public static class Placeholder {}
